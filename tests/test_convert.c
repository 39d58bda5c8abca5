/* Placeholder: the convert suite is being written. */
#include <check.h>

#include "tests/suites.h"

Suite *suite_convert(void)
{
	return suite_create("convert");
}
