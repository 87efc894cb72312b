import {expect, fixture, html, oneEvent} from '@open-wc/testing'
import {sendKeys} from '@web/test-runner-commands'
import '../../src/index.js'
import {formDataToValue} from '../../src/elements/shared/form-publisher.js'
import {P2PErrorEvent} from '../../src/events/error-event.js'
import {MemorySource, type TestSourceElement} from './helpers/memory-source.js'
import {until} from '../shared/until.js'

async function mount(form: unknown) {
  const root = await fixture<TestSourceElement>(html`<test-source>${form}</test-source>`)
  return {root, source: root.source as MemorySource, form: root.querySelector('form')!}
}

/** Lets a publish promise settle and the form reset. */
const settle = () => new Promise(resolve => setTimeout(resolve))

/** A second form in the same source element, submitted after the one under test. */
const SENTINEL = html`<form id="sentinel"><input name="text" value="sentinel"></form>`

/**
 * Submits the sentinel form and waits for its publish: whatever the forms submitted
 * before it were going to publish has been published by then.
 */
async function sentinel(root: Element, source: MemorySource): Promise<void> {
  const before = source.published.length
  root.querySelector<HTMLFormElement>('#sentinel')!.requestSubmit()
  await until(() => source.published.length > before, 'the sentinel form published')
}

function field(root: Element, name: string) {
  return root.querySelector<HTMLInputElement>(`[name=${name}]`)!
}

describe('forms inside a source element', () => {
  it('publish their data as a JSON object on submit, then reset', async () => {
    const {source, form} = await mount(html`<form><input name="name" data-keep><textarea name="text"></textarea><button>send</button></form>`)
    field(form, 'name').value = 'ada'
    field(form, 'text').value = 'hi'
    const submitted = oneEvent(form, 'submit') as Promise<SubmitEvent>
    form.requestSubmit()
    expect((await submitted).defaultPrevented).to.equal(true)
    await settle()
    expect(source.published).to.deep.equal([{name: 'ada', text: 'hi'}])
    expect(field(form, 'text').value).to.equal('')
  })

  it('submit on Enter, as any form does', async () => {
    const {source, form} = await mount(html`<form><input name="text"><button>send</button></form>`)
    field(form, 'text').focus()
    await sendKeys({type: 'hello there'})
    await sendKeys({press: 'Enter'})
    await settle()
    expect(source.published).to.deep.equal([{text: 'hello there'}])
    expect(field(form, 'text').value).to.equal('')
    expect(document.activeElement).to.equal(field(form, 'text'))
  })

  it('publish nothing when every field is blank, and keep what was typed', async () => {
    const {root, source, form} = await mount(html`<form><input name="name" value="  "><input name="text"><button>send</button></form>${SENTINEL}`)
    form.requestSubmit()
    await sentinel(root, source)
    expect(source.published).to.deep.equal([{text: 'sentinel'}])
    expect(field(form, 'name').value).to.equal('  ')
  })

  it('leave validation to the browser: an empty required field stops the submission', async () => {
    const {root, source, form} = await mount(html`<form><input name="name" value="ada"><input name="text" required><button>send</button></form>${SENTINEL}`)
    form.requestSubmit()
    await sentinel(root, source)
    expect(source.published).to.deep.equal([{text: 'sentinel'}])
  })

  it('turn several values of one name into an array, and include the button that submitted', async () => {
    const {source, form} = await mount(html`
      <form>
        <input type="checkbox" name="tag" value="a" checked>
        <input type="checkbox" name="tag" value="b">
        <input type="checkbox" name="tag" value="c" checked>
        <select name="pick" multiple><option selected>x</option><option selected>y</option></select>
        <button name="action" value="save">save</button>
      </form>`)
    form.querySelector('button')!.click()
    await settle()
    expect(source.published).to.deep.equal([{tag: ['a', 'c'], pick: ['x', 'y'], action: 'save'}])
  })

  it('do not send files', async () => {
    const {source, form} = await mount(html`<form><input name="text" value="look"><input type="file" name="photo"></form>`)
    const files = new DataTransfer()
    files.items.add(new File(['secret'], 'photo.jpg', {type: 'image/jpeg'}))
    field(form, 'photo').files = files.files
    form.requestSubmit()
    await settle()
    expect(source.published).to.deep.equal([{text: 'look'}])
  })

  it('keep fields marked data-keep across the reset', async () => {
    const {source, form} = await mount(html`<form><input name="name" data-keep><input name="text"><button>send</button></form>`)
    field(form, 'name').value = 'ada'
    field(form, 'text').value = 'one'
    form.requestSubmit()
    await settle()
    expect(field(form, 'name').value).to.equal('ada')
    expect(field(form, 'text').value).to.equal('')
    field(form, 'text').value = 'two'
    form.requestSubmit()
    await settle()
    expect(source.published).to.deep.equal([{name: 'ada', text: 'one'}, {name: 'ada', text: 'two'}])
  })

  it('return focus to the message field after a click on send', async () => {
    const {form} = await mount(html`<form><input name="name" data-keep value="ada"><input name="text" value="hi"><button>send</button></form>`)
    const button = form.querySelector('button')!
    button.focus()
    button.click()
    await settle()
    expect(document.activeElement).to.equal(field(form, 'text'))
  })

  it('work for forms added after the source element', async () => {
    const {root, source} = await mount(null)
    root.insertAdjacentHTML('beforeend', '<section><form><input name="text" value="late"></form></section>')
    root.querySelector('form')!.requestSubmit()
    await settle()
    expect(source.published).to.deep.equal([{text: 'late'}])
  })

  it('belong to the nearest source element only', async () => {
    const outer = await fixture<TestSourceElement>(html`
      <test-source><test-source id="inner"><form><input name="text" value="x"></form></test-source></test-source>`)
    const inner = outer.querySelector<TestSourceElement>('#inner')!
    inner.querySelector('form')!.requestSubmit()
    await settle()
    expect((inner.source as MemorySource).published).to.deep.equal([{text: 'x'}])
    expect((outer.source as MemorySource).published).to.deep.equal([])
  })

  it('are left to the app when it handles submit itself, or when they have an action', async () => {
    const {root, source} = await mount(html`
      <form id="own"><input name="text" value="a"></form>
      <form id="away" action="/elsewhere"><input name="text" value="b"></form>`)
    const own = root.querySelector<HTMLFormElement>('#own')!
    own.addEventListener('submit', e => e.preventDefault())
    own.requestSubmit()
    let reachedPage: boolean | undefined
    // Catches the submission the kit left alone, before the test page navigates away.
    const stop = (e: Event) => {
      reachedPage = !e.defaultPrevented
      e.preventDefault()
    }
    document.addEventListener('submit', stop)
    root.querySelector<HTMLFormElement>('#away')!.requestSubmit()
    document.removeEventListener('submit', stop)
    await settle()
    expect(reachedPage).to.equal(true)
    expect(source.published).to.deep.equal([])
  })

  it('report a failed publish with p2p-error and keep the text to send again', async () => {
    const {root, source, form} = await mount(html`<form><input name="text" value="hi"></form>`)
    source.failNext = new Error('link down')
    const error = oneEvent(root, 'p2p-error') as Promise<P2PErrorEvent>
    form.requestSubmit()
    const event = await error
    expect(event).to.be.instanceOf(P2PErrorEvent)
    expect(event.detail.error.message).to.contain('link down')
    expect(field(form, 'text').value).to.equal('hi')
    form.requestSubmit()
    await settle()
    expect(source.published).to.deep.equal([{text: 'hi'}])
  })

  it('report a submission with no source yet, and keep the text', async () => {
    const {root, form} = await mount(html`<form><input name="text" value="hi"></form>`)
    root.source = undefined
    const error = oneEvent(root, 'p2p-error') as Promise<P2PErrorEvent>
    form.requestSubmit()
    expect((await error).detail.error.code).to.equal('ERR_DESTROYED')
    expect(field(form, 'text').value).to.equal('hi')
  })
})

describe('formDataToValue', () => {
  it('returns null for blank data and a plain object otherwise', () => {
    const blank = new FormData()
    blank.append('a', ' ')
    blank.append('f', new File(['x'], 'x.txt'))
    expect(formDataToValue(blank)).to.equal(null)
    const data = new FormData()
    data.append('__proto__', 'x')
    data.append('a', '1')
    data.append('a', '2')
    const value = formDataToValue(data)!
    expect(Object.getPrototypeOf(value)).to.equal(Object.prototype)
    expect(JSON.parse(JSON.stringify(value))).to.deep.equal({['__proto__']: 'x', a: ['1', '2']})
  })
})
