<?php

namespace SampleApp;

/**
 * What the pages say about the release that answered. Loaded through vendor/autoload.php, so a
 * release shipped without its build hook (no `composer install`) shows it on every page.
 */
final class Release
{
    /** @return array{release: string, config: ?string} */
    public static function describe(string $releaseDir): array
    {
        $config = null;
        $cached = $releaseDir . '/bootstrap/cache/config.php';
        if (is_file($cached)) {
            $values = require $cached;
            $config = is_array($values) ? ($values['release'] ?? null) : null;
        }
        return ['release' => basename($releaseDir), 'config' => $config];
    }
}
