import { strict as assert } from 'node:assert';
import { summariseBody } from '../../sandbox/body-summary';

describe('sandbox/body-summary', () => {
  it("comes down to an HTML error page's first line of text", () => {
    const express = '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error</title>\n</head>\n<body>\n<pre>Cannot POST /wechat/x</pre>\n</body>\n</html>\n';
    assert.equal(summariseBody(express), 'Cannot POST /wechat/x');
    const nginx = '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';
    assert.equal(summariseBody(nginx), '502 Bad Gateway');
  });

  it('takes the title when the page has no text, and decodes entities', () => {
    assert.equal(summariseBody('<html><head><title>Forbidden &amp; gone</title><style>p{}</style></head><body><script>x()</script></body></html>'), 'Forbidden & gone');
    assert.equal(summariseBody('<!doctype html><body><p>Cannot GET /a?b=&lt;c&gt; &#x4e2d;&#25991;</p></body>'), 'Cannot GET /a?b=<c> 中文');
  });

  it('keeps any other body, on one line and shortened', () => {
    assert.equal(summariseBody('bad_signature'), 'bad_signature');
    assert.equal(summariseBody('{"error":\n  "x"}\n'), '{"error": "x"}');
    assert.equal(summariseBody('<xml><a>1</a></xml>'), '<xml><a>1</a></xml>');
    const long = summariseBody('x'.repeat(500));
    assert.equal(long, `${'x'.repeat(200)}…`);
  });
});
