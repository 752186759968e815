/* Help center: buttons marked data-sodam-open open the chat widget (after a 👎, "상담원에게 문의하기"). */
(function () {
  "use strict";
  document.addEventListener("click", function (ev) {
    var button = ev.target && ev.target.closest ? ev.target.closest("[data-sodam-open]") : null;
    if (button && typeof window.Sodam === "function") window.Sodam("open");
  });
})();
