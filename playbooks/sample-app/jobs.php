<?php
// A tiny job runner shared by the sample queue worker (Supervisor) and scheduler (systemd): runs a
// job of a few seconds at a time and records its start and finish in shared storage. On SIGTERM it
// finishes the job in progress, then exits — the behaviour a zero-downtime release relies on.
function run_jobs(string $kind, int $jobSeconds, int $pauseSeconds): void
{
    $stop = false;
    pcntl_async_signals(true);
    pcntl_signal(SIGTERM, function () use (&$stop) { $stop = true; });
    pcntl_signal(SIGINT, function () use (&$stop) { $stop = true; });
    $release = basename(__DIR__);
    $log = __DIR__ . '/storage/jobs.log';
    $n = 0;
    while (!$stop) {
        $job = sprintf('%s-%d-%d', $kind, getmypid(), ++$n);
        file_put_contents($log, sprintf("start %s %s %.3f\n", $job, $release, microtime(true)), FILE_APPEND | LOCK_EX);
        $until = microtime(true) + $jobSeconds;
        while (microtime(true) < $until) {
            usleep(100000); // a signal cuts one usleep short; the loop keeps the job going to its end
        }
        file_put_contents($log, sprintf("finish %s %s %.3f\n", $job, $release, microtime(true)), FILE_APPEND | LOCK_EX);
        for ($i = 0; $i < $pauseSeconds * 10 && !$stop; $i++) {
            usleep(100000);
        }
    }
}
