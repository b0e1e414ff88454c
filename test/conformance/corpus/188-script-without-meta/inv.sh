#!/bin/sh
case "$1" in
--list) echo '{"g": {"hosts": ["h1", "h2"], "children": ["c"]}, "c": {"hosts": ["h3"]}}' ;;
--host) echo "{\"who\": \"$2\"}" ;;
esac
