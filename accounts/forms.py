from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User


class SignUpForm(UserCreationForm):
    email = forms.EmailField(required=True, help_text="For password resets.")

    class Meta:
        model = User
        fields = ("username", "email")

    def clean_email(self):
        # Whether the address is taken is not said here (that would tell anyone who has an
        # account): accounts.services.account_sign_up mails its owner instead.
        return self.cleaned_data["email"].strip().lower()


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="Which client will use it, e.g. 'training script'"
    )
    read_only = forms.BooleanField(required=False)
