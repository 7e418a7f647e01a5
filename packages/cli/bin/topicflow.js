#!/usr/bin/env node
// The installed command. It lives outside dist/ so that npm links it at install time, before a build.
import '../dist/bin.js'
