#!/bin/sh
# Puts the registry helper (mdlua-registry, stripped) inside the mdlua binary of the build
# directory DIR as the section .mdlua_registry, which is not loaded: mdlua runs it from
# memory for pull, push and login (Sources/MDCore/Registry/RegistryHelper.swift), and its
# start-up pays nothing for it (docs/registries.md). Idempotent.
set -eu
dir=$1
strip -o "$dir/mdlua-registry.stripped" "$dir/mdlua-registry"
objcopy --remove-section .mdlua_registry \
  --add-section .mdlua_registry="$dir/mdlua-registry.stripped" \
  --set-section-flags .mdlua_registry=noload,readonly \
  "$dir/mdlua" "$dir/mdlua.embedding"
rm -f "$dir/mdlua-registry.stripped"
mv "$dir/mdlua.embedding" "$dir/mdlua"
