import { strict as assert } from 'node:assert';
import { XmlFormatError, XmlObject, buildXml, parseXml } from '../../../lib/wechat/xml';

const HEAD =
  '<ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>' +
  '<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>' +
  '<CreateTime>1409735668</CreateTime>';
const HEAD_FIELDS = { ToUserName: 'gh_10f6c3c3ac5a', FromUserName: 'oyORnuP8q7ou2gfYjqLzSIWZf0rs', CreateTime: '1409735668' };

/** Wraps message-specific elements in the common head, as WeChat sends them (with newlines). */
function message(body: string): string {
  return `<xml>${HEAD}\n${body}\n</xml>`;
}

function rejects(xml: string, pattern: RegExp): void {
  assert.throws(() => parseXml(xml), (err: unknown) => {
    assert.ok(err instanceof XmlFormatError, `expected XmlFormatError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('lib/wechat/xml', () => {
  describe('Official Account messages', () => {
    const cases: Array<[string, string, Record<string, string>]> = [
      [
        'text',
        '<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好 hello]]></Content><MsgId>6054768590064713728</MsgId><MsgDataId>2247483651</MsgDataId><Idx>1</Idx>',
        { MsgType: 'text', Content: '你好 hello', MsgId: '6054768590064713728', MsgDataId: '2247483651', Idx: '1' },
      ],
      [
        'image',
        '<MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[http://mmbiz.qpic.cn/abc/0]]></PicUrl><MediaId><![CDATA[media_id_1]]></MediaId><MsgId>1234567890123456</MsgId>',
        { MsgType: 'image', PicUrl: 'http://mmbiz.qpic.cn/abc/0', MediaId: 'media_id_1', MsgId: '1234567890123456' },
      ],
      [
        'voice',
        '<MsgType><![CDATA[voice]]></MsgType><MediaId><![CDATA[media_id_2]]></MediaId><Format><![CDATA[amr]]></Format><Recognition><![CDATA[腾讯微信团队]]></Recognition><MsgId>1234567890123456</MsgId>',
        { MsgType: 'voice', MediaId: 'media_id_2', Format: 'amr', Recognition: '腾讯微信团队', MsgId: '1234567890123456' },
      ],
      [
        'video',
        '<MsgType><![CDATA[video]]></MsgType><MediaId><![CDATA[media_id_3]]></MediaId><ThumbMediaId><![CDATA[thumb_3]]></ThumbMediaId><MsgId>1234567890123456</MsgId>',
        { MsgType: 'video', MediaId: 'media_id_3', ThumbMediaId: 'thumb_3', MsgId: '1234567890123456' },
      ],
      [
        'shortvideo',
        '<MsgType><![CDATA[shortvideo]]></MsgType><MediaId><![CDATA[media_id_4]]></MediaId><ThumbMediaId><![CDATA[thumb_4]]></ThumbMediaId><MsgId>1234567890123456</MsgId>',
        { MsgType: 'shortvideo', MediaId: 'media_id_4', ThumbMediaId: 'thumb_4', MsgId: '1234567890123456' },
      ],
      [
        'location',
        '<MsgType><![CDATA[location]]></MsgType><Location_X>23.134521</Location_X><Location_Y>113.358803</Location_Y><Scale>20</Scale><Label><![CDATA[位置信息]]></Label><MsgId>1234567890123456</MsgId>',
        { MsgType: 'location', Location_X: '23.134521', Location_Y: '113.358803', Scale: '20', Label: '位置信息', MsgId: '1234567890123456' },
      ],
      [
        'link',
        '<MsgType><![CDATA[link]]></MsgType><Title><![CDATA[公众平台官网链接]]></Title><Description><![CDATA[公众平台官网链接]]></Description><Url><![CDATA[https://mp.weixin.qq.com/?a=1&b=2]]></Url><MsgId>1234567890123456</MsgId>',
        { MsgType: 'link', Title: '公众平台官网链接', Description: '公众平台官网链接', Url: 'https://mp.weixin.qq.com/?a=1&b=2', MsgId: '1234567890123456' },
      ],
      [
        'subscribe event',
        '<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event>',
        { MsgType: 'event', Event: 'subscribe' },
      ],
      [
        'subscribe via QR code',
        '<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[qrscene_123123]]></EventKey><Ticket><![CDATA[TICKET]]></Ticket>',
        { MsgType: 'event', Event: 'subscribe', EventKey: 'qrscene_123123', Ticket: 'TICKET' },
      ],
      [
        'unsubscribe event',
        '<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[unsubscribe]]></Event>',
        { MsgType: 'event', Event: 'unsubscribe' },
      ],
      [
        'SCAN event',
        '<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[SCAN]]></Event><EventKey><![CDATA[SCENE_VALUE]]></EventKey><Ticket><![CDATA[TICKET]]></Ticket>',
        { MsgType: 'event', Event: 'SCAN', EventKey: 'SCENE_VALUE', Ticket: 'TICKET' },
      ],
      [
        'LOCATION event',
        '<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[LOCATION]]></Event><Latitude>23.137466</Latitude><Longitude>113.352425</Longitude><Precision>119.385040</Precision>',
        { MsgType: 'event', Event: 'LOCATION', Latitude: '23.137466', Longitude: '113.352425', Precision: '119.385040' },
      ],
      [
        'CLICK event',
        '<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[CLICK]]></Event><EventKey><![CDATA[EVENTKEY]]></EventKey>',
        { MsgType: 'event', Event: 'CLICK', EventKey: 'EVENTKEY' },
      ],
      [
        'VIEW event',
        '<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[VIEW]]></Event><EventKey><![CDATA[http://www.example.com/]]></EventKey>',
        { MsgType: 'event', Event: 'VIEW', EventKey: 'http://www.example.com/' },
      ],
    ];
    for (const [name, body, fields] of cases) {
      it(`parses ${name} with WeChat's field names and string values`, () => {
        assert.deepEqual(parseXml(message(body)), { ...HEAD_FIELDS, ...fields });
      });
    }

    it('parses a WeCom message with AgentID', () => {
      const xml =
        '<xml><ToUserName><![CDATA[ww5a1db0c0de000002]]></ToUserName><FromUserName><![CDATA[ZhangSan]]></FromUserName>' +
        '<CreateTime>1409659813</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[enter_agent]]></Event>' +
        '<EventKey><![CDATA[]]></EventKey><AgentID>1000002</AgentID></xml>';
      assert.deepEqual(parseXml(xml), {
        ToUserName: 'ww5a1db0c0de000002',
        FromUserName: 'ZhangSan',
        CreateTime: '1409659813',
        MsgType: 'event',
        Event: 'enter_agent',
        EventKey: '',
        AgentID: '1000002',
      });
    });
  });

  describe('values', () => {
    it('keeps 64-bit MsgIds exact, including values above 2^53 and 2^63', () => {
      for (const id of ['6054768590064713728', '9007199254740993', '18446744073709551615', '99999999999999999999999']) {
        const fields = parseXml(`<xml><MsgId>${id}</MsgId></xml>`);
        assert.equal(fields.MsgId, id);
        assert.equal(typeof fields.MsgId, 'string');
      }
      assert.notEqual(String(Number('9007199254740993')), '9007199254740993', 'the id must be one a number would corrupt');
    });

    it('joins a CDATA value split around "]]>"', () => {
      const fields = parseXml('<xml><Content><![CDATA[a]]]]><![CDATA[>b]]></Content></xml>');
      assert.equal(fields.Content, 'a]]>b');
    });

    it('decodes predefined and numeric entity references in text, not in CDATA', () => {
      const fields = parseXml('<xml><A>&lt;b&gt; &amp; &quot;q&quot; &apos;s&apos;</A><B>&#20320;&#x597D;&#x1F600;</B><C><![CDATA[&lt;raw&gt;]]></C></xml>');
      assert.equal(fields.A, `<b> & "q" 's'`);
      assert.equal(fields.B, '你好😀');
      assert.equal(fields.C, '&lt;raw&gt;');
    });

    it('concatenates text and CDATA parts of one element', () => {
      assert.equal(parseXml('<xml><A>x<![CDATA[<y>]]>z</A></xml>').A, 'x<y>z');
    });

    it('gives empty and self-closing elements an empty string and ignores attributes and comments', () => {
      const fields = parseXml('<?xml version="1.0" encoding="utf-8"?>\n<!-- c --><xml a="1"><A/><B></B><C x="y">v</C><!-- inner --></xml>\n');
      assert.deepEqual(fields, { A: '', B: '', C: 'v' });
    });

    it('accepts a leading byte-order mark', () => {
      assert.deepEqual(parseXml('\ufeff<xml><A>1</A></xml>'), { A: '1' });
    });

    it('parses nested ScanCodeInfo', () => {
      const xml = message(
        '<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[scancode_push]]></Event><EventKey><![CDATA[6]]></EventKey>' +
          '<ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType><ScanResult><![CDATA[1]]></ScanResult></ScanCodeInfo>',
      );
      assert.deepEqual(parseXml(xml).ScanCodeInfo, { ScanType: 'qrcode', ScanResult: '1' });
    });

    it('parses SendPicsInfo with repeated <item> as an array, and a single item as an object', () => {
      const many = message(
        '<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[pic_sysphoto]]></Event><EventKey><![CDATA[6]]></EventKey>' +
          '<SendPicsInfo><Count>2</Count><PicList>' +
          '<item><PicMd5Sum><![CDATA[1b5f7c23b5bf75682a53e7b6d163e185]]></PicMd5Sum></item>' +
          '<item><PicMd5Sum><![CDATA[2c6f7c23b5bf75682a53e7b6d163e186]]></PicMd5Sum></item>' +
          '</PicList></SendPicsInfo>',
      );
      assert.deepEqual(parseXml(many).SendPicsInfo, {
        Count: '2',
        PicList: { item: [{ PicMd5Sum: '1b5f7c23b5bf75682a53e7b6d163e185' }, { PicMd5Sum: '2c6f7c23b5bf75682a53e7b6d163e186' }] },
      });
      const one = parseXml('<xml><SendPicsInfo><Count>1</Count><PicList><item><PicMd5Sum>x</PicMd5Sum></item></PicList></SendPicsInfo></xml>');
      assert.deepEqual(one.SendPicsInfo, { Count: '1', PicList: { item: { PicMd5Sum: 'x' } } });
    });

    it('collects three or more repeated elements in order', () => {
      assert.deepEqual(parseXml('<xml><i>1</i><i>2</i><i>3</i></xml>').i, ['1', '2', '3']);
    });
  });

  describe('hostile and malformed documents', () => {
    it('rejects a DOCTYPE with entity declarations (billion laughs)', () => {
      const laughs =
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><xml><Content>&lol3;</Content></xml>';
      rejects(laughs, /DOCTYPE/);
    });

    it('rejects an external entity', () => {
      rejects('<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><Content>&xxe;</Content></xml>', /DOCTYPE/);
      rejects('<!-- hidden --><!DOCTYPE xml SYSTEM "http://evil.example/x.dtd"><xml/>', /DOCTYPE/);
    });

    it('rejects declarations and processing instructions inside the document', () => {
      rejects('<xml><!DOCTYPE x><A>1</A></xml>', /not accepted/);
      rejects('<xml><?php echo 1 ?><A>1</A></xml>', /not accepted/);
    });

    it('rejects an undeclared entity and a bare "&"', () => {
      rejects('<xml><Content>&xxe;</Content></xml>', /undeclared entity/);
      rejects('<xml><Content>a &amp b</Content></xml>', /bare "&"/);
      rejects('<xml><Content>fish & chips</Content></xml>', /"&"/);
      rejects('<xml><Content>AT&T</Content></xml>', /"&"|entity/);
      rejects('<xml><Content>&#0;</Content></xml>', /character reference/);
      rejects('<xml><Content>&#x110000;</Content></xml>', /character reference/);
    });

    it('rejects mismatched and unclosed tags', () => {
      rejects('<xml><A>1</B></xml>', /<\/A> expected/);
      rejects('<xml><A>1</A>', /not closed/);
      rejects('<xml><A>1</A></xml2>', /<\/xml> expected/);
      rejects('<xml><A', /unterminated start tag/);
      rejects('<xml><1A>1</1A></xml>', /bad element name/);
    });

    it('rejects an unterminated CDATA section, comment or XML declaration', () => {
      rejects('<xml><A><![CDATA[abc</A></xml>', /unterminated CDATA/);
      rejects('<xml><!-- abc </xml>', /unterminated comment/);
      rejects('<?xml version="1.0"', /unterminated XML declaration/);
    });

    it('rejects text or a second element after the root, and a document without a root', () => {
      rejects('<xml><A>1</A></xml>trailing', /text after the root/);
      rejects('<xml></xml><xml></xml>', /text after the root/);
      rejects('', /root element/);
      rejects('just text', /root element/);
      rejects('{"encrypt":"json"}', /root element/);
    });

    it('rejects nesting deeper than a WeChat message needs', () => {
      const depth = 12;
      const deep = '<a>'.repeat(depth) + 'x' + '</a>'.repeat(depth);
      rejects(`<xml>${deep}</xml>`, /nested too deeply/);
      const fine = '<a>'.repeat(4) + 'x' + '</a>'.repeat(4);
      assert.doesNotThrow(() => parseXml(`<xml>${fine}</xml>`));
    });

    it('does not let a __proto__, constructor or prototype element pollute objects', () => {
      const fields = parseXml('<xml><__proto__><polluted>yes</polluted></__proto__><constructor><prototype><polluted>yes</polluted></prototype></constructor><A>1</A></xml>');
      assert.deepEqual(fields, { A: '1' });
      assert.equal(Object.getPrototypeOf(fields), Object.prototype);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal((fields as Record<string, unknown>).polluted, undefined);
    });

    it('treats element names that shadow Object.prototype members as ordinary fields', () => {
      const fields = parseXml('<xml><toString>a</toString><hasOwnProperty>b</hasOwnProperty><valueOf>c</valueOf></xml>');
      assert.deepEqual({ ...fields }, { toString: 'a', hasOwnProperty: 'b', valueOf: 'c' });
    });
  });

  describe('buildXml', () => {
    it('writes strings as CDATA and numbers bare, skipping undefined', () => {
      const xml = buildXml({ ToUserName: 'u', CreateTime: 1700000000, Skip: undefined, Content: 'a<b>&c' });
      assert.equal(xml, '<xml><ToUserName><![CDATA[u]]></ToUserName><CreateTime>1700000000</CreateTime><Content><![CDATA[a<b>&c]]></Content></xml>');
    });

    it('round-trips through parseXml, including "]]>", nesting, repeated items and unicode', () => {
      const input = {
        ToUserName: 'oUser',
        FromUserName: 'gh_account',
        CreateTime: 1700000000,
        MsgType: 'news',
        Content: 'tricky ]]> and ]]]]> and <tags> & 你好 😀',
        ArticleCount: 2,
        Articles: { item: [{ Title: 'one', Url: 'https://x.example/?a=1&b=2' }, { Title: 'two', Description: 'd' }] },
        Repeated: ['a', 'b'],
      };
      const expected: XmlObject = {
        ToUserName: 'oUser',
        FromUserName: 'gh_account',
        CreateTime: '1700000000',
        MsgType: 'news',
        Content: 'tricky ]]> and ]]]]> and <tags> & 你好 😀',
        ArticleCount: '2',
        Articles: { item: [{ Title: 'one', Url: 'https://x.example/?a=1&b=2' }, { Title: 'two', Description: 'd' }] },
        Repeated: ['a', 'b'],
      };
      assert.deepEqual(parseXml(buildXml(input)), expected);
    });

    it('uses the given root name', () => {
      assert.equal(buildXml({ A: 'x' }, 'root'), '<root><A><![CDATA[x]]></A></root>');
    });
  });
});
