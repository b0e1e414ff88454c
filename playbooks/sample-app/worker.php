<?php
// Sample queue worker, run by Supervisor (program app-queue).
require __DIR__ . '/jobs.php';
run_jobs('queue', 3, 1);
