/** The page's words in English and Chinese; the browser's language picks one, the switch the other. */
import type { Channel, SimulatedUser } from '../api';
import type { DemoAccount } from '../../wechat-client';

export type Lang = 'en' | 'zh';

export interface Texts {
  title: string;
  account: string;
  user: string;
  accounts: Record<DemoAccount, string>;
  roles: Record<SimulatedUser['role'], string>;
  channels: Record<Channel, string>;
  late: string;
  placeholder: string;
  send: string;
  image: string;
  location: string;
  menu: string;
  follow: string;
  unfollow: string;
  empty: string;
  sending: string;
  c4c: string;
  timeOff: string;
  dcn: string;
  refresh: string;
  noCustomers: string;
  change: string;
  apply: string;
  changed: (customer: string) => string;
  approverView: (approver: string) => string;
  approve: (id: string) => string;
  openTimeOff: string;
  template: string;
  post: string;
  retract: string;
  result: string;
  reached: (user: string) => string;
  editor: string;
  intro: string;
}

export const TEXTS: Record<Lang, Texts> = {
  en: {
    title: 'Sandbox chat',
    account: 'Account',
    user: 'User',
    accounts: { official: 'Official Account', wecom: 'WeCom app', microapp: 'WeCom via Mobile Services (TimeOff)' },
    roles: { follower: 'follower', employee: 'employee', receiver: 'WF-DCN receiver', requester: 'requester', approver: 'approver' },
    channels: {
      sent: 'You',
      reply: 'Reply',
      'customer-service': 'Customer-service message',
      template: 'Template message',
      'wecom-app': 'WeCom app message',
      'micro-app-push': 'Mobile Services push (Micro App)',
      push: 'Mobile Services push',
      note: 'Sandbox',
    },
    late: 'Late reply: it missed the 5-second deadline of the passive reply',
    placeholder: 'Type a message',
    send: 'Send',
    image: 'Image',
    location: 'Location',
    menu: 'Menu',
    follow: 'Follow',
    unfollow: 'Unfollow',
    empty: 'No messages yet. Try "hours", "address" or "report".',
    sending: 'sending…',
    c4c: 'C4C',
    timeOff: 'TimeOff',
    dcn: 'WF-DCN',
    refresh: 'Refresh',
    noCustomers: 'No customers yet: follow the Official Account first.',
    change: 'Change',
    apply: 'Apply',
    changed: (customer) => `Customer ${customer} changed; C4C notifies the flow.`,
    approverView: (approver) => `The approver's phone (${approver})`,
    approve: (id) => `Approve ${id}`,
    openTimeOff: 'TimeOff page',
    template: 'Template',
    post: 'Post request',
    retract: 'Retract (:delete)',
    result: 'Result',
    reached: (user) => `What reached ${user}`,
    editor: 'Node-RED editor',
    intro: 'A phone as a user sees it: every reply and active message arrives here as the flows send it.',
  },
  zh: {
    title: '沙箱聊天',
    account: '账号',
    user: '用户',
    accounts: { official: '公众号', wecom: '企业微信应用', microapp: '企业微信（经移动服务，TimeOff）' },
    roles: { follower: '关注者', employee: '员工', receiver: 'WF-DCN 接收人', requester: '申请人', approver: '审批人' },
    channels: {
      sent: '我',
      reply: '被动回复',
      'customer-service': '客服消息',
      template: '模板消息',
      'wecom-app': '企业微信应用消息',
      'micro-app-push': '移动服务推送（微应用）',
      push: '移动服务推送',
      note: '沙箱',
    },
    late: '迟到的回复：超过了被动回复的 5 秒期限',
    placeholder: '输入消息',
    send: '发送',
    image: '图片',
    location: '位置',
    menu: '菜单',
    follow: '关注',
    unfollow: '取消关注',
    empty: '还没有消息。试试“营业时间”“地址”或“报表”。',
    sending: '发送中…',
    c4c: 'C4C',
    timeOff: '请假',
    dcn: 'WF-DCN',
    refresh: '刷新',
    noCustomers: '还没有客户：请先关注公众号。',
    change: '修改',
    apply: '应用',
    changed: (customer) => `客户 ${customer} 已修改；C4C 会通知流程。`,
    approverView: (approver) => `审批人的手机（${approver}）`,
    approve: (id) => `同意 ${id}`,
    openTimeOff: '请假页面',
    template: '模板',
    post: '发送请求',
    retract: '撤回（:delete）',
    result: '结果',
    reached: (user) => `${user} 收到的消息`,
    editor: 'Node-RED 编辑器',
    intro: '用户手机上看到的样子：流程发出的每条回复和主动消息都会实时显示在这里。',
  },
};

export function defaultLang(language: string): Lang {
  return language.toLowerCase().startsWith('zh') ? 'zh' : 'en';
}
