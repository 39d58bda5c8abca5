/* Placeholder: the lower suite is being written. */
#include <check.h>

#include "tests/suites.h"

Suite *suite_lower(void)
{
	return suite_create("lower");
}
