from django import forms
from django.contrib.auth.forms import PasswordResetForm, UserCreationForm
from django.contrib.auth.models import User
from django.template.loader import render_to_string

from tunerproject.mail import send_after_response


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


class AfterResponsePasswordResetForm(PasswordResetForm):
    """Django's form, with the mail sent after the response (tunerproject.mail): an address with
    an account then answers as fast as one without."""

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        subject = "".join(render_to_string(subject_template_name, context).splitlines())
        send_after_response(subject, render_to_string(email_template_name, context), to_email)
