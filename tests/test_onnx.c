/* Placeholder: the onnx suite is being written. */
#include <check.h>

#include "tests/suites.h"

Suite *suite_onnx(void)
{
	return suite_create("onnx");
}
