from django.apps import AppConfig
from django.core.management import call_command
from django.db.models.signals import post_migrate


def create_cache_tables(sender, using, **kwargs):
    """Without REDIS_URL the cache (throttle counters) is a database table: every `migrate`
    creates it, so no deployment (`make run`, a container stack, a server) can miss it. With
    Redis, or any other backend, createcachetable does nothing."""
    call_command("createcachetable", database=using, verbosity=0)


class CoreConfig(AppConfig):
    name = "core"

    def ready(self):
        post_migrate.connect(create_cache_tables, sender=self)
