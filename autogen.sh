#!/bin/sh
# Regenerate the build system (configure, Makefile.in, aux files).
exec autoreconf --force --install --verbose
