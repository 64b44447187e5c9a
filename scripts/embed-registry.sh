#!/bin/sh
# Puts the registry helper (mdlua-registry, stripped) inside the mdlua binary of the build
# directory DIR as the section .mdlua_registry, which is not loaded, and its SHA-256 (64 hex
# digits) as .mdlua_registry_sha256: mdlua writes the helper out once per digest into the
# state root and runs it from there, or from memory where it cannot
# (Sources/MDCore/Registry/RegistryHelper.swift, HelperCache.swift); its start-up pays
# nothing for it (docs/registries.md). Idempotent.
set -eu
dir=$1
strip -o "$dir/mdlua-registry.stripped" "$dir/mdlua-registry"
sha256sum "$dir/mdlua-registry.stripped" | cut -c1-64 | tr -d '\n' > "$dir/mdlua-registry.sha256"
objcopy --remove-section .mdlua_registry --remove-section .mdlua_registry_sha256 \
  --add-section .mdlua_registry="$dir/mdlua-registry.stripped" \
  --set-section-flags .mdlua_registry=noload,readonly \
  --add-section .mdlua_registry_sha256="$dir/mdlua-registry.sha256" \
  --set-section-flags .mdlua_registry_sha256=noload,readonly \
  "$dir/mdlua" "$dir/mdlua.embedding"
rm -f "$dir/mdlua-registry.stripped" "$dir/mdlua-registry.sha256"
mv "$dir/mdlua.embedding" "$dir/mdlua"
