from rest_framework.routers import SimpleRouter

from jobs.evaluations import api

router = SimpleRouter(use_regex_path=False)
router.register("evaluations", api.EvaluationViewSet, basename="api-evaluation")

urlpatterns = router.urls
