#!/usr/bin/env node
/** The `fleet` CLI's entry (scripts/cli.ts holds the commands and their argument handling). */
import { start } from "./cli";

start();
