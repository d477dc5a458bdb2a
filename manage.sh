#!/usr/bin/env bash
# Thin aliases of the Makefile targets, for people who know the project's original commands.
#   ./manage.sh newb   install the prerequisites (both virtual environments)
#   ./manage.sh test   run every test tier
#   ./manage.sh <target> [VAR=value ...]   any other make target, e.g. run, up, down, tail
set -euo pipefail
cd "$(dirname "$0")"

case "${1:-help}" in
  newb) shift; exec make install "$@" ;;
  -h|--help|help) exec make help ;;
  *) target=$1; shift; exec make "$target" "$@" ;;
esac
