import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "truyvet.settings")
application = get_wsgi_application()

# Import every view and API module now instead of on the first request, then
# move everything loaded so far (about 170,000 objects: modules, classes, the
# URL and API registries) out of the cycle collector's reach. Those objects live
# as long as the process; without this, each full collection walks all of them
# and holds the GIL for ~100 ms (measured on a worker), which every request in
# flight on that worker waits out: it set the scans' p99 (docs/performance.md).
get_resolver().url_patterns  # noqa: B018 - evaluated for its imports
gc.freeze()
