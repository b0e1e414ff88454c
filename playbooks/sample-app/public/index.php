<?php
// Sample application shipped by `lanes release` (playbooks/sample-app): says which pool and which
// release answered. ?work=MS keeps the request busy for MS milliseconds of real CPU work (not sleep(),
// which a graceful reload's SIGQUIT would cut short), so tests can hold requests in flight.
$release = basename(dirname(__DIR__));
$work = min((int)($_GET['work'] ?? 0), 5000);
if ($work > 0) {
    $until = microtime(true) + $work / 1000;
    $x = 0;
    while (microtime(true) < $until) {
        $x = ($x + 1) % 1000003;
    }
}
if (is_file(__DIR__ . '/../BROKEN')) {
    // A release that fails its health gate: the test suite ships one on purpose.
    http_response_code(500);
    echo "broken release $release\n";
    exit;
}
header('Content-Type: application/json');
$pool = getenv('LANES_POOL') ?: 'unknown';
$autoload = dirname(__DIR__) . '/vendor/autoload.php';
$built = is_file($autoload);
if (parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH) === '/up') {
    // The health page (the release's health gate asks it, as Laravel's /up): it names the release that
    // answered, and is down (503) when the release was shipped without its build, as Laravel's would
    // be without vendor/ — so the gate refuses such a release instead of letting it serve 500s.
    if (!$built) {
        http_response_code(503);
    }
    echo json_encode(['status' => $built ? 'up' : 'down', 'pool' => $pool, 'release' => $release, 'host' => gethostname(), 'built' => $built]), "\n";
    exit;
}
if (!$built) {
    // Shipped without its build hook (composer install): every page fails, and still names the release.
    http_response_code(500);
    echo json_encode([
        'release' => $release,
        'error' => 'vendor/autoload.php is missing: the build hook (composer install) did not run',
    ]), "\n";
    exit;
}
require $autoload;
$app = SampleApp\Release::describe(dirname(__DIR__));
echo json_encode([
    'pool' => $pool,
    'release' => $release,
    'uri' => $_SERVER['REQUEST_URI'] ?? '/',
    'host' => gethostname(),
    // The release id `php artisan config:cache` wrote in bootstrap/cache/config.php (null before it ran).
    'config' => $app['config'],
]), "\n";
