from django.urls import path, re_path

from jobs.openai_api import files, fine_tuning, inference, openapi
from jobs.openai_api.errors import unknown_path

urlpatterns = [
    path("files", files.files),
    path("files/<str:file_id>", files.file_detail),
    path("files/<str:file_id>/content", files.file_content),
    path("fine_tuning/jobs", fine_tuning.jobs),
    path("fine_tuning/jobs/<str:job_id>", fine_tuning.job_detail),
    path("fine_tuning/jobs/<str:job_id>/cancel", fine_tuning.job_cancel_view),
    path("fine_tuning/jobs/<str:job_id>/pause", fine_tuning.job_pause_view),
    path("fine_tuning/jobs/<str:job_id>/resume", fine_tuning.job_resume_view),
    path("fine_tuning/jobs/<str:job_id>/events", fine_tuning.job_events),
    path("fine_tuning/jobs/<str:job_id>/checkpoints", fine_tuning.job_checkpoints),
    path("models", inference.models),
    path("models/<path:model_id>", inference.model_detail),
    path("completions", inference.completions),
    path("chat/completions", inference.chat_completions),
    path("openapi.json", openapi.openapi_json),
    # Anything else under /openai/v1/: an OpenAI-shaped 404, not Django's HTML page. (?s): a
    # path holding a newline (%0A) is anything else too.
    re_path(r"^(?P<unmatched>(?s:.*))$", unknown_path),
]
