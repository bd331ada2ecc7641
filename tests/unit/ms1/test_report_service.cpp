// Placeholder: filled in by issue 16.
#include <gtest/gtest.h>
