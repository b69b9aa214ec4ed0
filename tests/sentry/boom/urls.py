"""The app's routes, plus /boom: a view that raises after reading the secrets it was sent."""

import json

from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls import urlpatterns as app_urlpatterns


class ForcedFailure(RuntimeError):
    pass


@csrf_exempt
def boom(request):
    # Secrets in local variables, as real code has them: none may reach the error report.
    password = json.loads(request.body)["password"]
    authorization = request.headers.get("Authorization", "")
    raise ForcedFailure(f"forced failure after reading {len(password) + len(authorization)} chars")


urlpatterns = [path("boom", boom), *app_urlpatterns]
