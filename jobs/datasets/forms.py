from django import forms

from jobs.datasets.encoding import ENCODINGS
from jobs.sharing.forms import team_field

# Upload form field -> the format field it names in the column mapping.
MAPPING_FIELDS = {
    "text_column": "text",
    "prompt_column": "prompt",
    "completion_column": "completion",
    "instruction_column": "instruction",
    "input_column": "input",
    "output_column": "output",
    "messages_column": "messages",
    "conversations_column": "conversations",
    "system_column": "system",
}


class DatasetUploadForm(forms.Form):
    file = forms.FileField(help_text=".txt, .csv, .json (an array of objects) or .jsonl")
    name = forms.CharField(max_length=200, required=False, help_text="Defaults to the file's name")
    team = team_field()  # its choices are the user's: jobs.sharing.forms.show_teams
    text_column = forms.CharField(max_length=200, required=False, label="Text column")
    prompt_column = forms.CharField(max_length=200, required=False, label="Prompt column")
    completion_column = forms.CharField(max_length=200, required=False, label="Completion column")
    instruction_column = forms.CharField(
        max_length=200, required=False, label="Instruction column (Alpaca)"
    )
    input_column = forms.CharField(max_length=200, required=False, label="Input column (Alpaca)")
    output_column = forms.CharField(max_length=200, required=False, label="Output column (Alpaca)")
    messages_column = forms.CharField(
        max_length=200, required=False, label="Messages column (OpenAI chat)"
    )
    conversations_column = forms.CharField(
        max_length=200, required=False, label="Conversations column (ShareGPT)"
    )
    system_column = forms.CharField(
        max_length=200, required=False, label="System column (Alpaca, ShareGPT)"
    )
    encoding = forms.ChoiceField(
        required=False,
        choices=[("", "Detect it")] + [(key, label) for key, label in ENCODINGS.items()],
        help_text="UTF-8, UTF-16 with a byte-order mark and Windows-1252 are recognised",
    )
    skip_invalid_rows = forms.BooleanField(
        required=False,
        label="Skip invalid rows",
        help_text="Keep the valid rows of a file with a few bad ones; the report lists those "
        "left out. Off: one bad row makes the file unusable until it is fixed.",
    )

    def column_mapping(self):
        """The mapping the service expects, from whichever column boxes were filled in."""
        return {
            key: self.cleaned_data[name].strip()
            for name, key in MAPPING_FIELDS.items()
            if self.cleaned_data[name].strip()
        }

    def options_given(self):
        """Whether the mapping and encoding boxes hold anything (they are shown open then)."""
        return any(self[name].value() for name in [*MAPPING_FIELDS, "encoding"])

    def mapping_fields(self):
        return [self[name] for name in MAPPING_FIELDS]
