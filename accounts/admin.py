from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from accounts.lockout import LockoutAdminAuthenticationForm
from accounts.models import ApiToken, AuditEvent, FailedLogin, Membership, Team, TeamInvitation
from accounts.services import account_invite

# The admin's sign-in counts failures and locks out like the portal's (accounts.lockout).
admin.site.login_form = LockoutAdminAuthenticationForm


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "user",
        "prefix",
        "read_only",
        "created_at",
        "expires_at",
        "last_used_at",
        "status",
    ]
    list_filter = ["read_only", "revoked_at", "expires_at"]
    search_fields = ["name", "user__username", "prefix"]
    # The hash and prefix identify the key; editing them would silently break a client.
    readonly_fields = ["user", "prefix", "key_hash", "created_at", "last_used_at"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # a token's key is shown once to its owner; operators cannot mint one

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset):
        for token in queryset:
            token.revoke(request=request, why=f"revoked by operator {request.user.username}")


@admin.register(FailedLogin)
class FailedLoginAdmin(admin.ModelAdmin):
    list_display = ["username", "ip_address", "created_at"]
    search_fields = ["username", "ip_address"]
    list_filter = ["created_at"]
    readonly_fields = ["username", "ip_address", "created_at"]

    def has_add_permission(self, request):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "username", "ip_address", "detail"]
    list_filter = ["kind", "created_at"]
    search_fields = ["username", "ip_address", "detail"]
    date_hierarchy = "created_at"

    # The log is evidence: operators read it, nobody edits it.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class InvitingUserAdmin(UserAdmin):
    """With SIGNUP_OPEN=0 operators create accounts here and invite their owners by email."""

    actions = ["invite"]

    @admin.action(description="Email an invitation (a link to choose a password)")
    def invite(self, request, queryset):
        invited = [user for user in queryset if user.email and user.is_active]
        for user in invited:
            account_invite(user=user, request=request)
        skipped = queryset.count() - len(invited)
        self.message_user(request, f"{len(invited)} invitation(s) sent.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"{skipped} skipped: no email address or inactive.", messages.WARNING
            )


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class InvitationInline(admin.TabularInline):
    model = TeamInvitation
    extra = 0
    fields = ["email", "role", "invited_by", "created_at"]
    readonly_fields = ["invited_by", "created_at"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    """Teams and their members; a team always keeps an admin in the portal and the API (the
    operator here is trusted to keep one too)."""

    list_display = ["name", "created_by", "created_at"]
    search_fields = ["name", "memberships__user__username"]
    inlines = [MembershipInline, InvitationInline]
