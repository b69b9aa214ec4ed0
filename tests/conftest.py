"""What every suite under tests/ shares at collection time."""

import pytest

# support/ holds test bodies more than one suite collects (support/https_api.py): pytest rewrites
# their asserts as it does a test module's, so a failure shows the values compared.
pytest.register_assert_rewrite("support")
