<?php
// lanes' one FastCGI client, sent to a host and run there as `env -i PATH=… php -n fcgi.php …` (no
// php.ini, no extension, no inherited environment). It asks a PHP-FPM pool one GET straight on its
// socket, the way Nginx would, so a pool can be checked without a web server in front of it.
//
//   php -n fcgi.php ADDRESS SCRIPT_NAME SCRIPT_FILENAME [QUERY_STRING]
//
// ADDRESS is a Unix socket path (/run/php/x.sock) or host:port. PHP 8.2 answers 404 "File not found."
// unless REQUEST_METHOD, SCRIPT_NAME and SCRIPT_FILENAME are all set, so they always are.
// stdout: the response's FCGI_STDOUT stream (CGI headers, a blank line, the body);
// stderr: its FCGI_STDERR stream, or why there is no answer.
// Exit: 0 a complete answer (whatever its HTTP status: judge the body), 2 cannot connect,
//       3 incomplete answer (no FCGI_END_REQUEST), 64 bad usage.

if ($argc < 4) {
    fwrite(STDERR, "usage: php -n fcgi.php ADDRESS SCRIPT_NAME SCRIPT_FILENAME [QUERY_STRING]\n");
    exit(64);
}
[, $address, $scriptName, $scriptFile] = $argv;
$query = $argv[4] ?? '';

$socket = @stream_socket_client(($address[0] === '/' ? 'unix://' : 'tcp://') . $address, $errno, $errstr, 5);
if (!$socket) {
    fwrite(STDERR, "cannot connect to $address: $errstr\n");
    exit(2);
}

// One FastCGI record: version 1, type, request id 1, content length, no padding.
function fcgi_record(int $type, string $content): string
{
    return pack('CCnnCx', 1, $type, 1, strlen($content), 0) . $content;
}

// A name-value pair length: one byte below 128, four bytes with the high bit set above.
function fcgi_length(int $n): string
{
    return $n < 128 ? chr($n) : pack('N', $n | 0x80000000);
}

$params = [
    'GATEWAY_INTERFACE' => 'CGI/1.1',
    'SERVER_PROTOCOL' => 'HTTP/1.1',
    'REQUEST_METHOD' => 'GET',
    'SCRIPT_NAME' => $scriptName,
    'SCRIPT_FILENAME' => $scriptFile,
    'QUERY_STRING' => $query,
    'REQUEST_URI' => $query === '' ? $scriptName : "$scriptName?$query",
    'DOCUMENT_URI' => $scriptName,
    'REMOTE_ADDR' => '127.0.0.1',
    'SERVER_NAME' => 'localhost',
];
$encoded = '';
foreach ($params as $k => $v) {
    $encoded .= fcgi_length(strlen($k)) . fcgi_length(strlen($v)) . $k . $v;
}

// BEGIN_REQUEST (role responder, close the connection after), PARAMS, empty PARAMS, empty STDIN.
fwrite($socket, fcgi_record(1, pack('nCx5', 1, 0)) . fcgi_record(4, $encoded) . fcgi_record(4, '') . fcgi_record(5, ''));
stream_set_timeout($socket, 5);
$raw = stream_get_contents($socket);
fclose($socket);

$out = '';
$ended = false;
$i = 0;
$n = strlen($raw);
while ($i + 8 <= $n) {
    $h = unpack('Cversion/Ctype/nid/nlength/Cpadding', substr($raw, $i, 8));
    $content = substr($raw, $i + 8, $h['length']);
    if ($h['type'] === 6) {
        $out .= $content;
    } elseif ($h['type'] === 7) {
        fwrite(STDERR, $content);
    } elseif ($h['type'] === 3) {
        $ended = true;
    }
    $i += 8 + $h['length'] + $h['padding'];
}
echo $out;
exit($ended ? 0 : 3);
