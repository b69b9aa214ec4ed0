#!/usr/bin/env bash
# make lint's monitoring checks, with promtool and amtool from Debian's packages (the servers'
# versions, unpacked by scripts/debian-tools.sh, never started):
#   promtool check rules + test rules  monitoring/rules, monitoring/tests
#   promtool check config, amtool check-config, blackbox --config.check
#       on prometheus.yml, alertmanager.yml and blackbox.yml rendered from the monitoring role's
#       templates for the production inventory (e-mail and webhook receivers switched on).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
bin="${BIN:-$repo/.venv/bin}"
tools="$("$repo/scripts/debian-tools.sh" prometheus prometheus-alertmanager prometheus-blackbox-exporter)"
promtool="$tools/prometheus/usr/bin/promtool"
amtool="$tools/prometheus-alertmanager/usr/bin/amtool"
blackbox="$tools/prometheus-blackbox-exporter/usr/bin/prometheus-blackbox-exporter"

"$promtool" check rules "$repo"/monitoring/rules/*.yml
(cd "$repo/monitoring/tests" && "$promtool" test rules ./*.yml)

out="$(mktemp -d)"
playbook="$repo/deploy/.check-monitoring-$$.yml"
trap 'rm -rf "$out" "$playbook"' EXIT
cat > "$playbook" <<'YAML'
- name: Render the monitoring configuration
  hosts: board_servers
  # The controller's distribution facts (connection local): the exporters role loads its
  # release's variables in a loop, which runs before the role's `when: false` is read.
  gather_facts: true
  gather_subset: [min]
  roles:
    # Loaded for their defaults only: the templates read both (the scrape login is the exporters').
    - role: exporters
      when: false
    - role: monitoring
      when: false
  tasks:
    - name: Render the configuration files
      ansible.builtin.template:
        src: roles/monitoring/templates/{{ item }}.j2
        dest: "{{ out_dir }}/{{ item }}"
        mode: "0600"
      loop: [prometheus.yml, alertmanager.yml, blackbox.yml]
      when: inventory_hostname == board_monitoring_server
YAML
(cd "$repo/deploy" && "$bin/ansible-playbook" -i inventories/production "$playbook" \
    -e ansible_connection=local -e "ansible_python_interpreter=$bin/python" -e "out_dir=$out" \
    -e '{"monitoring_alertmanager_webhook_url": "https://hooks.example.com/alerts",
         "monitoring_alertmanager_email_to": ["ops@example.com"],
         "monitoring_alertmanager_email_from": "board@example.com",
         "monitoring_alertmanager_smtp_smarthost": "smtp.example.com:587",
         "monitoring_alertmanager_smtp_username": "board",
         "monitoring_alertmanager_smtp_password": "unused"}' >/dev/null) || {
    echo "check-monitoring: rendering the configuration failed (run the playbook above by hand)" >&2
    exit 1
}
# The rendered file names the rules where the role installs them; check them from the repository.
sed -i "s|/etc/prometheus/rules/\*.yml|$repo/monitoring/rules/*.yml|" "$out/prometheus.yml"
"$promtool" check config "$out/prometheus.yml"
"$amtool" check-config "$out/alertmanager.yml"
"$blackbox" --config.check --config.file="$out/blackbox.yml"
