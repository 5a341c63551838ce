// Copy buttons (data-copy="<selector>"). No inline scripts (CSP).
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
  const label = button.textContent;
  button.textContent = 'Copied';
  setTimeout(() => (button.textContent = label), 1500);
});
