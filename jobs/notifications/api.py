"""The webhooks REST API (/api/v1/webhooks/…).

Every query starts from Webhook.objects.visible_to(user): the user's personal endpoints and
those of the teams they administer. Anything else, a team member's view of the team's endpoints
included, is a 404. The secret is in the answer to the POST that creates an endpoint and never
again.
"""

from typing import cast

from django.contrib.auth.models import User
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs.models.notifications import EVENT_TYPES, Webhook, WebhookDelivery
from jobs.notifications import services
from jobs.sharing import access
from tunerproject import serializers as strict
from tunerproject.api import absolute_url


class WebhookSerializer(strict.ModelSerializer):
    deliveries_url = serializers.SerializerMethodField()
    active = serializers.SerializerMethodField(
        help_text="False for a team's endpoint whose registrar is no longer its admin"
    )
    disabled_reason = serializers.CharField(
        read_only=True, help_text="Why it receives no events, or empty"
    )

    class Meta:
        model = Webhook
        fields = [
            "id",
            "url",
            "events",
            "team",
            "owner",
            "active",
            "disabled_reason",
            "created_at",
            "deliveries_url",
        ]
        read_only_fields = fields
        extra_kwargs = {"team": {"help_text": "The team whose events it receives, or null"}}

    def get_active(self, webhook: Webhook) -> bool:
        return not webhook.disabled_reason

    def get_deliveries_url(self, webhook: Webhook) -> str:
        return absolute_url(self.context, "api-webhook-deliveries", webhook.pk)


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="whsec_…: verifies each delivery's signature; shown only now"
    )

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookCreateSerializer(strict.Serializer):
    url = serializers.RegexField(
        r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#\x00]+[^\x00]*$",
        max_length=500,
        error_messages={
            "invalid": "A webhook URL must start with http:// or https:// and name a host."
        },
        help_text="http:// or https:// endpoint on a public address",
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES), allow_empty=False, max_length=20
    )
    team = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="A team you administer: the endpoint receives the team's job and dataset "
        "events and the team's admins manage it. Null or left out: your own.",
    )


class DeliverySerializer(strict.ModelSerializer):
    status = serializers.ChoiceField(
        source="state",
        choices=WebhookDelivery.State.choices,
        read_only=True,
        help_text="pending (being sent or waiting for a retry), succeeded or failed",
    )
    redeliver_url = serializers.SerializerMethodField()

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event_id",
            "event_type",
            "status",
            "attempts",
            "response_status",
            "response_excerpt",
            "error",
            "duration_ms",
            "created_at",
            "last_attempt_at",
            "next_attempt_at",
            "payload",
            "redeliver_url",
        ]
        read_only_fields = fields

    def get_redeliver_url(self, delivery: WebhookDelivery) -> str:
        return absolute_url(self.context, "api-webhook-redeliver", delivery.pk)


class WebhookViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = WebhookSerializer
    lookup_value_converter = "int"
    http_method_names = ["get", "post", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Webhook]:
        return Webhook.objects.visible_to(self.request.user)

    @extend_schema(request=WebhookCreateSerializer, responses={201: WebhookCreatedSerializer})
    def create(self, request: Request) -> Response:
        """Register an endpoint for some events; the answer holds its secret, shown once."""
        data = WebhookCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        user = cast(User, request.user)  # signed in: IsAuthenticated is the default
        team = services.webhook_team_for(user=user, team_id=fields.pop("team", None))
        webhook = services.webhook_create(owner=user, team=team, **fields)
        body = WebhookCreatedSerializer(webhook, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: Webhook) -> None:
        services.webhook_delete(webhook=instance)

    @extend_schema(responses=DeliverySerializer(many=True))
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: int | None = None) -> Response:
        """The endpoint's deliveries, newest first: outcome, attempts, answer."""
        webhook = self.get_object()
        page = self.paginate_queryset(webhook.deliveries.all())
        body = DeliverySerializer(page, many=True, context={"request": request}).data
        return self.get_paginated_response(body)


class RedeliverView(APIView):
    @extend_schema(request=None, responses={202: DeliverySerializer})
    def post(self, request: Request, pk: int) -> Response:
        """Send a delivery again (same event id and body, fresh signature), from the queue."""
        delivery = access.get_visible_or_404(WebhookDelivery.objects.all(), request.user, pk)
        delivery = services.webhook_redeliver(delivery=delivery)
        body = DeliverySerializer(delivery, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED)
