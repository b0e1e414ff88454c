<?php
// Sample scheduler, run by systemd (app-scheduler.service, in workers.slice).
require __DIR__ . '/jobs.php';
run_jobs('scheduler', 3, 2);
