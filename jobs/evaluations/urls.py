from django.urls import path

from jobs.evaluations import views

urlpatterns = [
    path("evaluations/", views.evaluation_list, name="evaluation-list"),
    path("evaluations/new/", views.evaluation_new, name="evaluation-new"),
    path("evaluations/leaderboard/", views.evaluation_leaderboard, name="evaluation-leaderboard"),
    path("evaluations/compare/", views.evaluation_compare, name="evaluation-compare"),
    path("evaluations/<int:pk>/", views.evaluation_detail, name="evaluation-detail"),
    path("evaluations/<int:pk>/live/", views.evaluation_live, name="evaluation-live"),
    path("evaluations/<int:pk>/cancel/", views.evaluation_cancel_view, name="evaluation-cancel"),
    path("evaluations/<int:pk>/delete/", views.evaluation_delete_view, name="evaluation-delete"),
]
