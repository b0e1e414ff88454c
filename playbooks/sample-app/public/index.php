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
echo json_encode([
    'pool' => getenv('LANES_POOL') ?: 'unknown',
    'release' => $release,
    'uri' => $_SERVER['REQUEST_URI'] ?? '/',
    'host' => gethostname(),
]), "\n";
