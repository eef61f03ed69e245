from django import forms


class DatasetUploadForm(forms.Form):
    file = forms.FileField(help_text=".txt, .csv, .json (an array of objects) or .jsonl")
    name = forms.CharField(max_length=200, required=False, help_text="Defaults to the file's name")
    text_column = forms.CharField(max_length=200, required=False, label="Text column")
    prompt_column = forms.CharField(max_length=200, required=False, label="Prompt column")
    completion_column = forms.CharField(max_length=200, required=False, label="Completion column")
    messages_column = forms.CharField(max_length=200, required=False, label="Messages column")

    def column_mapping(self):
        """The mapping the service expects, from whichever column boxes were filled in."""
        fields = {
            "text": "text_column",
            "prompt": "prompt_column",
            "completion": "completion_column",
            "messages": "messages_column",
        }
        return {
            key: self.cleaned_data[name].strip()
            for key, name in fields.items()
            if self.cleaned_data[name].strip()
        }
