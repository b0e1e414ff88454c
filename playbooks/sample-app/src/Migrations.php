<?php

namespace SampleApp;

use PDO;

/**
 * The sample application's migrations, on an SQLite database in shared storage. Every run is recorded
 * (host, release, time) so a test can count how often, and where, `php artisan migrate` ran.
 */
final class Migrations
{
    public static function database(string $releaseDir): PDO
    {
        try {
            $db = new PDO('sqlite:' . $releaseDir . '/storage/database.sqlite');
        } catch (\PDOException $e) {
            throw new \RuntimeException('cannot open storage/database.sqlite (shared/storage must be writable by the user running artisan): ' . $e->getMessage());
        }
        $db->setAttribute(PDO::ATTR_ERRMODE, PDO::ERRMODE_EXCEPTION);
        // Two hosts never migrate at once (the `once` hook runs on one), but a one-off can overlap.
        $db->exec('PRAGMA busy_timeout = 5000');
        return $db;
    }

    /** Apply the schema (idempotent) and record this run; returns the number of runs so far. */
    public static function migrate(PDO $db, string $host, string $release): int
    {
        $db->exec('CREATE TABLE IF NOT EXISTS migration_runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            host TEXT NOT NULL,
            release TEXT NOT NULL,
            ran_at TEXT NOT NULL
        )');
        $db->exec('CREATE TABLE IF NOT EXISTS orders (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            reference TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL
        )');
        $insert = $db->prepare('INSERT INTO migration_runs (host, release, ran_at) VALUES (?, ?, ?)');
        $insert->execute([$host, $release, gmdate('Y-m-d\TH:i:s\Z')]);
        return (int) $db->query('SELECT COUNT(*) FROM migration_runs')->fetchColumn();
    }
}
