import { strict as assert } from 'node:assert';
import type { AccountKind } from '../../../lib/wechat/callback';
import { ReplyFormatError, normalizeReply, replyXml } from '../../../lib/wechat/replies';
import { parseXml } from '../../../lib/wechat/xml';

const NOW = 1_700_000_000_123;

/** Normalises a payload and returns the parsed reply XML. */
function reply(payload: unknown, kind: AccountKind) {
  return parseXml(replyXml(normalizeReply(payload, kind), 'oUser123', kind === 'official' ? 'gh_account' : 'ww_corp', NOW));
}

function refuses(payload: unknown, kind: AccountKind, pattern: RegExp): void {
  assert.throws(() => normalizeReply(payload, kind), (err: unknown) => {
    assert.ok(err instanceof ReplyFormatError, `expected ReplyFormatError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('lib/wechat/replies', () => {
  for (const kind of ['official', 'wecom'] as const) {
    describe(`${kind} replies`, () => {
      const from = kind === 'official' ? 'gh_account' : 'ww_corp';
      const head = { ToUserName: 'oUser123', FromUserName: from, CreateTime: '1700000000' };

      it('a string payload is a text reply addressed to the sender, time in seconds', () => {
        assert.deepEqual(reply('你好 <b>&', kind), { ...head, MsgType: 'text', Content: '你好 <b>&' });
      });

      it('numbers and booleans become text', () => {
        assert.equal(reply(42, kind).Content, '42');
        assert.equal(reply(false, kind).Content, 'false');
      });

      it('text object', () => {
        assert.deepEqual(reply({ type: 'text', content: 'hi' }, kind), { ...head, MsgType: 'text', Content: 'hi' });
      });

      it('image and voice', () => {
        assert.deepEqual(reply({ type: 'image', mediaId: 'm1' }, kind), { ...head, MsgType: 'image', Image: { MediaId: 'm1' } });
        assert.deepEqual(reply({ type: 'voice', mediaId: 'm2' }, kind), { ...head, MsgType: 'voice', Voice: { MediaId: 'm2' } });
      });

      it('video, with and without title and description', () => {
        assert.deepEqual(reply({ type: 'video', mediaId: 'v', title: 't', description: 'd' }, kind), {
          ...head,
          MsgType: 'video',
          Video: { MediaId: 'v', Title: 't', Description: 'd' },
        });
        assert.deepEqual(reply({ type: 'video', mediaId: 'v' }, kind).Video, { MediaId: 'v' });
      });

      it('news with one and with eight articles', () => {
        const one = reply({ type: 'news', articles: [{ title: 'T', description: 'D', picUrl: 'https://p/1.png', url: 'https://u/?a=1&b=2' }] }, kind);
        assert.deepEqual(one, {
          ...head,
          MsgType: 'news',
          ArticleCount: '1',
          Articles: { item: { Title: 'T', Description: 'D', PicUrl: 'https://p/1.png', Url: 'https://u/?a=1&b=2' } },
        });
        const eight = Array.from({ length: 8 }, (_, i) => ({ title: `t${i}` }));
        const parsed = reply({ type: 'news', articles: eight }, kind);
        assert.equal(parsed.ArticleCount, '8');
        assert.deepEqual((parsed.Articles as { item: unknown }).item, eight.map((a) => ({ Title: a.title })));
      });

      it('refuses payloads that are not a reply, saying what is wrong', () => {
        refuses(null, kind, /must be a string .* or an object with a "type"/);
        refuses(undefined, kind, /must be a string/);
        refuses(['text'], kind, /must be a string/);
        refuses({ content: 'no type' }, kind, /reply type must be one of/);
        refuses({ type: 'sticker' }, kind, /reply type must be one of/);
        refuses({ type: 'text' }, kind, /"content" must be a non-empty string/);
        refuses({ type: 'text', content: 7 }, kind, /"content" must be a non-empty string/);
        refuses({ type: 'image' }, kind, /"mediaId" must be a non-empty string/);
        refuses({ type: 'voice', mediaId: '' }, kind, /"mediaId" must be a non-empty string/);
        refuses({ type: 'video', mediaId: 'v', title: 5 }, kind, /"title" must be a string/);
        refuses({ type: 'news', articles: [] }, kind, /1 to 8 articles/);
        refuses({ type: 'news' }, kind, /1 to 8 articles/);
        refuses({ type: 'news', articles: Array.from({ length: 9 }, () => ({ title: 't' })) }, kind, /1 to 8 articles/);
        refuses({ type: 'news', articles: ['x'] }, kind, /article 1 must be an object/);
        refuses({ type: 'news', articles: [{ title: 'ok' }, { url: 'no title' }] }, kind, /"title" must be a non-empty string/);
        refuses({ type: 'news', articles: [{ title: 'ok', picUrl: {} }] }, kind, /"picUrl" must be a string/);
      });

      it('names the platform in the list of allowed types', () => {
        refuses({ type: 'sticker' }, kind, kind === 'official' ? /Official Account/ : /WeCom/);
      });
    });
  }

  describe('Official Account only', () => {
    it('music', () => {
      const payload = { type: 'music', title: 'Song', description: 'D', musicUrl: 'http://m/1.mp3', hqMusicUrl: 'http://m/1hq.mp3', thumbMediaId: 'th' };
      assert.deepEqual(reply(payload, 'official').Music, {
        Title: 'Song',
        Description: 'D',
        MusicUrl: 'http://m/1.mp3',
        HQMusicUrl: 'http://m/1hq.mp3',
        ThumbMediaId: 'th',
      });
      refuses({ type: 'music', title: 'no thumb' }, 'official', /"thumbMediaId"/);
    });

    it('transfer_customer_service, with and without a named agent', () => {
      assert.deepEqual(reply({ type: 'transfer_customer_service' }, 'official'), {
        ToUserName: 'oUser123',
        FromUserName: 'gh_account',
        CreateTime: '1700000000',
        MsgType: 'transfer_customer_service',
      });
      assert.deepEqual(reply({ type: 'transfer_customer_service', kfAccount: 'kf2001@gh_account' }, 'official').TransInfo, {
        KfAccount: 'kf2001@gh_account',
      });
    });

    it('music and transfer_customer_service are refused for WeCom', () => {
      refuses({ type: 'music', thumbMediaId: 'th' }, 'wecom', /text, image, voice, video, news for WeCom/);
      refuses({ type: 'transfer_customer_service' }, 'wecom', /for WeCom/);
    });
  });

  describe('WeCom text limit', () => {
    it('accepts 2048 bytes and refuses 2049, counting UTF-8 bytes', () => {
      assert.equal(normalizeReply('a'.repeat(2048), 'wecom').type, 'text');
      refuses('a'.repeat(2049), 'wecom', /2048 bytes/);
      refuses({ type: 'text', content: 'a'.repeat(2049) }, 'wecom', /2048 bytes/);
      // 683 Chinese characters are 2049 bytes in UTF-8 though only 683 UTF-16 units.
      refuses('字'.repeat(683), 'wecom', /2048 bytes/);
      assert.equal(normalizeReply('字'.repeat(682), 'wecom').type, 'text');
    });

    it('does not apply to Official Accounts', () => {
      assert.equal(normalizeReply('字'.repeat(2000), 'official').type, 'text');
    });
  });
});
