#!/usr/bin/env bash
# Consumer-app matrix (npm run test:consumers): the package as a user gets it. npm pack, then for
# each row a fresh app outside the repository that installs the tarball with one CDK version and
# one constructs version from the registry, compiles app.ts.in with tsc (strict, against the
# installed declarations) and synthesizes it with node (app.synth()); check.js then reads
# cdk.tf.json. Rows: "LIB VERSION CONSTRUCTS [skipLibCheck]". Reuses the npm cache
# ($npm_config_cache, default ~/.npm); set CONSUMER_ROWS to run a subset (e.g. "cdktn").
# CONSUMER_KEEP=DIR keeps the apps (and the packed tarball) in DIR, e.g. for the e2e deploy.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
ROWS=(
  "cdktf 0.20.0 10.3.0"
  "cdktf 0.20.12 10.4.2"
  "cdktf 0.21.0 10.8.1"
  # Full type check here too: our .d.ts name cdktf's types, which a cdktn app does not have;
  # scripts/cdk-types-optional.js makes its compiler read them as any instead of failing.
  "cdktn 0.24.0 10.7.2"
)
if [ -n "${CONSUMER_KEEP:-}" ]; then WORK=$CONSUMER_KEEP; mkdir -p "$WORK"; else WORK=$(mktemp -d /tmp/cdktf-ipvs-consumers.XXXXXX); trap 'rm -rf "$WORK"' EXIT; fi
export CHECKPOINT_DISABLE=1 npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
start=$(date +%s)

npm pack --silent --pack-destination "$WORK" >/dev/null   # runs prepare: a fresh build
TARBALL=$(ls "$WORK"/cdktf-ipvs-*.tgz)
failed=0
for row in "${ROWS[@]}"; do
  read -r lib version constructs skip <<<"$row"
  [ -n "${CONSUMER_ROWS:-}" ] && [[ " $CONSUMER_ROWS " != *" $lib "* && " $CONSUMER_ROWS " != *" $lib@$version "* ]] && continue
  app="$WORK/$lib-$version"
  rm -rf "$app" && mkdir -p "$app"
  (
    cd "$app"
    set -e   # (inert in a subshell tested by &&: each step below exits on failure itself)
    printf '{ "name": "consumer", "private": true, "version": "0.0.0" }\n' > package.json
    sed "s/@CDK@/$lib/" "$ROOT/test/consumer/app.ts.in" > main.ts
    printf '{ "compilerOptions": { "target": "ES2022", "module": "commonjs", "moduleResolution": "node", "lib": ["ES2022"], "types": [], "strict": true, "skipLibCheck": %s, "outDir": "." }, "files": ["main.ts"] }\n' \
      "$([ "$skip" = skipLibCheck ] && echo true || echo false)" > tsconfig.json
    npm install --prefer-offline --no-package-lock --loglevel=error "$TARBALL" "$lib@$version" "constructs@$constructs" >install.log 2>&1 || { cat install.log; exit 1; }
    "$ROOT/node_modules/.bin/tsc" -p tsconfig.json || exit 1
    # The same app under Node16 resolution, where the `exports` map (and its "types") decides.
    sed 's/"module": "commonjs", "moduleResolution": "node"/"module": "node16", "moduleResolution": "node16", "noEmit": true/' tsconfig.json > tsconfig.node16.json
    "$ROOT/node_modules/.bin/tsc" -p tsconfig.node16.json || exit 1
    node main.js || exit 1
    node "$ROOT/test/consumer/check.js" "$lib" || exit 1
  ) && echo "ok   $lib@$version constructs@$constructs" || { echo "FAIL $lib@$version constructs@$constructs"; failed=1; }
done
echo "consumer matrix: $(( $(date +%s) - start )) s"
exit $failed
