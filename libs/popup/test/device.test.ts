import t from 'tap'
import { deviceOf } from '../src/rules/device.ts'

const UA = {
  chromeWindows:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  iPhone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  androidPhone:
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
  androidTablet:
    'Mozilla/5.0 (Linux; Android 14; SM-X910) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  iPadOld:
    'Mozilla/5.0 (iPad; CPU OS 12_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  // iPadOS 13+ asks for desktop sites: the user agent says Macintosh; only touch gives it away.
  macSafari:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
}

t.test('the user agent names phones and tablets', async (t) => {
  t.equal(deviceOf({ userAgent: UA.chromeWindows }), 'desktop')
  t.equal(deviceOf({ userAgent: UA.iPhone }), 'mobile')
  t.equal(deviceOf({ userAgent: UA.androidPhone }), 'mobile')
  t.equal(deviceOf({ userAgent: UA.androidTablet }), 'tablet')
  t.equal(deviceOf({ userAgent: UA.iPadOld }), 'tablet')
})

t.test('touch and viewport decide when the user agent says desktop', async (t) => {
  t.equal(deviceOf({ userAgent: UA.macSafari, maxTouchPoints: 0, viewportWidth: 1440 }), 'desktop', 'a Mac')
  t.equal(deviceOf({ userAgent: UA.macSafari, maxTouchPoints: 5, viewportWidth: 1180 }), 'tablet', 'an iPad')
  t.equal(deviceOf({ userAgent: UA.chromeWindows, maxTouchPoints: 10, viewportWidth: 390 }), 'mobile')
  t.equal(
    deviceOf({ userAgent: UA.chromeWindows, maxTouchPoints: 10, viewportWidth: 1920 }),
    'desktop',
    'a touch laptop',
  )
  t.equal(
    deviceOf({ userAgent: UA.chromeWindows, viewportWidth: 390 }),
    'desktop',
    'a narrow window without touch',
  )
})
