#!/bin/bash
# Entry point of the nginx stand-in: the official image's template step, then the command.
# Each /etc/nginx/templates/NAME.template becomes /etc/nginx/conf.d/NAME, with envsubst
# substituting only the variables set in the environment (so nginx's own $variables, and any
# ${VAR} left unset, reach nginx untouched), as that image's 20-envsubst-on-templates.sh does.
set -euo pipefail

template_dir=${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}
suffix=${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}
output_dir=${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}

if [[ ${1:-} == nginx && -d $template_dir ]]; then
  defined=$(compgen -e | sed 's/.*/${&}/' | tr '\n' ' ')
  while IFS= read -r -d '' template; do
    relative=${template#"$template_dir/"}
    output=$output_dir/${relative%"$suffix"}
    mkdir -p "$(dirname "$output")"
    echo "$0: Running envsubst on $template to $output"
    envsubst "$defined" <"$template" >"$output"
  done < <(find -L "$template_dir" -type f -name "*$suffix" -print0)
fi
exec "$@"
