"""A common-password check with a larger list than Django's, that also sees through the usual
disguise of a common word: a capital first letter and digits or symbols after it (Summer2024)."""

import re
from functools import cache

from django.contrib.auth.password_validation import CommonPasswordValidator
from django.core.exceptions import ValidationError

# What people append to a word to satisfy a "digits and symbols" rule.
SUFFIX = re.compile(r"[\d\W_]+$")
SHORTEST_BASE = 4  # shorter bases ("abc", "pass") are too many to refuse with their suffixes


@cache
def zxcvbn_passwords():
    # 30,000 passwords ranked by frequency in leaked sets (Xato), shipped in the zxcvbn package.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


class LargeCommonPasswordValidator(CommonPasswordValidator):
    """Django's 20,000 common passwords plus zxcvbn's 30,000, checked as typed and with the
    trailing digits and symbols removed."""

    def __init__(self, password_list_path=CommonPasswordValidator.DEFAULT_PASSWORD_LIST_PATH):
        super().__init__(password_list_path)
        self.passwords = self.passwords | zxcvbn_passwords()

    def validate(self, password, user=None):
        lowered = password.lower().strip()
        base = SUFFIX.sub("", lowered)
        if lowered in self.passwords or (len(base) >= SHORTEST_BASE and base in self.passwords):
            raise ValidationError(
                "This password is too common (or a common word with digits added).",
                code="password_too_common",
            )

    def get_help_text(self):
        return "Your password can’t be a commonly used password, even with digits added."
