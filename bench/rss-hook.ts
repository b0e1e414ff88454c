/**
 * Preloaded into the measured lanes CLI (`node --import …/rss-hook.js dist/bin/main.js …`): at exit
 * it writes the process's peak RSS (getrusage's ru_maxrss through process.resourceUsage(), kilobytes)
 * to $LANES_BENCH_RSS_FILE. It works wherever Node does; Linux is where it was checked (macOS libuv
 * also reports kilobytes, not checked here). It is not loaded for the start-time figures.
 */
import { writeFileSync } from 'node:fs';

const file = process.env.LANES_BENCH_RSS_FILE;
if (file) process.on('exit', () => writeFileSync(file, String(process.resourceUsage().maxRSS)));
