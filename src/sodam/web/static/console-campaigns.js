// The campaign editor's live preview: each copy as the customer sees it ({name} filled with a sample).
(function () {
  'use strict';
  function render(area) {
    const target = document.getElementById(area.dataset.preview);
    if (!target) return;
    target.textContent = area.value.split('{name}').join(target.dataset.name || '');
  }
  document.querySelectorAll('textarea[data-preview]').forEach(function (area) {
    area.addEventListener('input', function () { render(area); });
    render(area);
  });
})();
