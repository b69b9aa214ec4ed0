"""Ansible's linear strategy, run over Mitogen when it is installed (requirements/dev.in).

site.yml spends most of its time in per-task overhead (a new Python process on the server for
every module run); Mitogen keeps one interpreter per host for the whole run and cuts an
idempotence run of a single server from 158 s to 60 s with the same results. A controller
without Mitogen still runs every playbook, with Ansible's own linear strategy and a warning.
"""

from ansible.plugins.loader import strategy_loader
from ansible.utils.display import Display

try:
    import ansible_mitogen.strategy
except ImportError:
    Display().warning(
        "Mitogen is not installed: running with Ansible's linear strategy "
        "(pip install mitogen, as requirements/dev.lock does, for faster runs)."
    )
    StrategyModule = strategy_loader.get("linear", class_only=True)
else:
    import ansible_mitogen.loaders

    class StrategyModule(
        ansible_mitogen.strategy.StrategyMixin,
        ansible_mitogen.loaders.strategy_loader.get("linear", class_only=True),
    ):
        pass
