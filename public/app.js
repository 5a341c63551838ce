// Page behaviour shared by every page (loaded by views/layout.eta). No inline scripts (CSP).

// Copy buttons: data-copy="<selector>" copies the field's value (or an element's text).
document.addEventListener('click', async (event) => {
  const button = event.target instanceof Element ? event.target.closest('[data-copy]') : null;
  if (!button) return;
  const field = document.querySelector(button.getAttribute('data-copy'));
  if (!field) return;
  const text = 'value' in field ? field.value : field.textContent;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    field.select?.();
    document.execCommand?.('copy');
  }
  if (!button.dataset.label) button.dataset.label = button.textContent;
  button.textContent = 'Copied';
  setTimeout(() => (button.textContent = button.dataset.label), 1500);
});

// Destructive forms: data-confirm="<question>" asks before submitting.
document.addEventListener('submit', (event) => {
  const form = event.target instanceof HTMLFormElement ? event.target : null;
  const question = form?.getAttribute('data-confirm');
  if (question && !window.confirm(question)) event.preventDefault();
});

// LTI Dynamic Registration: "Done"/"Close" hands the window back to the platform (Canvas closes its
// registration iframe on this standard message and shows its review).
document.addEventListener('click', (event) => {
  const button = event.target instanceof Element ? event.target.closest('[data-lti-close]') : null;
  if (!button) return;
  (window.opener || window.parent).postMessage({ subject: 'org.imsglobal.lti.close' }, '*');
});

// "Select all" checkboxes: data-select-all="<name>" checks or clears every checkbox of that name in its form.
document.addEventListener('change', (event) => {
  const box = event.target instanceof HTMLInputElement ? event.target : null;
  const name = box?.getAttribute('data-select-all');
  if (!box || !name) return;
  for (const other of box.form?.querySelectorAll(`input[type="checkbox"][name="${CSS.escape(name)}"]`) ?? []) other.checked = box.checked;
});

// After a form error, focus moves to the error summary (the first [data-form-error]), so keyboard
// and screen-reader users land on what to fix; its links lead to the fields.
// A flashed error (role="alert" in the layout) is marked the same way.
function focusFormError() {
  const summary = document.querySelector('[data-form-error]');
  if (!summary || document.activeElement === summary) return;
  if (!summary.hasAttribute('tabindex')) summary.setAttribute('tabindex', '-1');
  summary.focus();
}
document.addEventListener('DOMContentLoaded', focusFormError);
// Scrolling to the address's #fragment (a redirect back to the form's section) happens later and
// moves focus off an element it does not target: focus the error again once the page has loaded,
// unless the person has already moved on to something else.
window.addEventListener('load', () => {
  if (!document.activeElement || document.activeElement === document.body) focusFormError();
});
