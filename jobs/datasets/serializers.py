"""Shapes of the datasets API: the validation report, uploads, the preview. They validate and
shape; jobs.datasets.services does the work. Webhooks send a dataset as DatasetSerializer does."""

import json

from drf_spectacular.utils import (
    extend_schema_field,
)
from rest_framework import serializers

from jobs.models import Dataset
from jobs.sharing.serializers import TEAM_HELP
from tunerproject import serializers as strict
from tunerproject.api import absolute_url
from tunerproject.parsers import UNSTORABLE, unstorable


class DatasetStatsSerializer(strict.Serializer):
    mean_tokens = serializers.FloatField()
    p95_tokens = serializers.IntegerField()
    max_tokens = serializers.IntegerField()
    histogram = serializers.ListField(
        child=serializers.DictField(), help_text="[{start, end, count}] tokens per example"
    )
    truncated_share = serializers.FloatField(
        help_text="Share of examples longer than context_length"
    )
    context_length = serializers.IntegerField()
    duplicates = serializers.IntegerField(help_text="Examples identical to an earlier one")


class DatasetErrorSerializer(strict.Serializer):
    line = serializers.IntegerField(
        allow_null=True, help_text="Line (or CSV row start) in the file; null for the whole file"
    )
    field = serializers.CharField(allow_null=True)
    message = serializers.CharField()


class DatasetSerializer(strict.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    is_valid = serializers.BooleanField(  # type: ignore[assignment]
        read_only=True, help_text="True when jobs may use it"
    )
    stats = serializers.SerializerMethodField()
    errors = DatasetErrorSerializer(many=True, read_only=True)  # type: ignore[assignment]
    errors_not_shown = serializers.SerializerMethodField(
        help_text="Errors counted beyond those listed"
    )
    url = serializers.SerializerMethodField()
    preview_url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Dataset
        fields = [
            "id",
            "name",
            "owner",
            "team",
            "original_filename",
            "format",
            "kind",
            "detected_format",
            "encoding",
            "column_mapping",
            "skip_invalid_rows",
            "skipped_rows",
            "notes",
            "status",
            "is_valid",
            "num_examples",
            "total_tokens",
            "size_bytes",
            "stats",
            "errors",
            "error_count",
            "errors_not_shown",
            "created_at",
            "url",
            "preview_url",
            "download_url",
        ]
        read_only_fields = fields

    @extend_schema_field(DatasetStatsSerializer)
    def get_stats(self, dataset):
        return DatasetStatsSerializer(dataset.stats).data if dataset.stats else None

    def get_errors_not_shown(self, dataset) -> int:
        return max(0, dataset.error_count - len(dataset.errors))

    def _absolute(self, name, dataset):
        return absolute_url(self.context, name, dataset.pk)

    def get_url(self, dataset) -> str:
        return self._absolute("api-dataset-detail", dataset)

    def get_preview_url(self, dataset) -> str:
        return self._absolute("api-dataset-preview", dataset)

    def get_download_url(self, dataset) -> str:
        return self._absolute("api-dataset-download", dataset)


class DatasetUpdateSerializer(strict.Serializer):
    name = serializers.CharField(required=False, max_length=200)
    team = serializers.IntegerField(
        required=False, allow_null=True, help_text=f"{TEAM_HELP} (the dataset's owner only)"
    )


class MappingField(serializers.JSONField):
    """A JSON field whose text (a multipart form sends it as a string) may be nested too
    deeply for Python's parser: a 400 naming the field, not a 500."""

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except RecursionError:
            raise serializers.ValidationError("Not valid JSON: nested too deeply.") from None


class DatasetUploadSerializer(strict.Serializer):
    file = serializers.FileField(help_text=".txt, .csv, .json (an array of objects) or .jsonl")
    team = serializers.IntegerField(required=False, allow_null=True, help_text=TEAM_HELP)
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    column_mapping = MappingField(
        required=False,
        help_text='Optional, the fields of one format: {"text": "col"}; {"prompt": "col", '
        '"completion": "col"}; {"instruction", "output", optional "input", "system"} (Alpaca); '
        '{"messages": "col"} (OpenAI chat); {"conversations": "col", optional "system"} '
        "(ShareGPT)",
    )
    encoding = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=16,
        help_text="utf-8, utf-16, windows-1252 or latin-1; detected when left out",
    )
    skip_invalid_rows = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Keep the valid rows of a file with some bad ones (listed in errors)",
    )

    def validate_column_mapping(self, value):
        # Multipart forms send it as a JSON string.
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else {}
            except json.JSONDecodeError:
                raise serializers.ValidationError("Not valid JSON.") from None
            except RecursionError:
                raise serializers.ValidationError("Not valid JSON: nested too deeply.") from None
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise serializers.ValidationError(
                'A JSON object of field names, such as {"prompt": "question"}.'
            )
        where = unstorable(value)
        if where is not None:
            raise serializers.ValidationError(f"{UNSTORABLE} (at {where}).")
        return value


class PreviewSegmentSerializer(strict.Serializer):
    text = serializers.CharField()
    loss = serializers.BooleanField(
        help_text="True where the model is trained to produce this text"
    )


class PreviewExampleSerializer(strict.Serializer):
    line = serializers.IntegerField()
    tokens = serializers.IntegerField()
    segments = PreviewSegmentSerializer(many=True)
    chars_not_shown = serializers.IntegerField(
        help_text="Characters of a long example left out of the segments"
    )
