// Test-page stand-in for the globals that the AUTOMATIC1111 WebUI's own script.js gives every
// extension script (written for this test from the WebUI's documented behaviour, not copied):
//   gradioApp()          the element holding the gradio UI (its shadow root if it has one), with
//                        getElementById() forwarding to the document;
//   onUiUpdate(cb)       cb(mutations) after every DOM change below gradioApp();
//   onAfterUiUpdate(cb)  cb() once the DOM has been quiet for a moment;
//   onUiLoaded(cb)       cb() once, when the UI is built (here: the first script panel exists;
//                        the WebUI waits for #txt2img_prompt, which this page does not have);
//   onOptionsChanged(cb) registered only (the page has no settings tab);
//   inputAccordionChecked(id, checked)  called by InputAccordion's hidden checkbox; the WebUI's
//                        inputAccordion.js mirrors it in the accordion header; here it is recorded.
// Every callback exception is logged with console.error, as the WebUI does, so the test sees it.
(function () {
    "use strict";
    const callbacks = {update: [], after: [], loaded: [], options: []};
    let loaded = false;
    let afterTimer = null;

    function run(list, arg) {
        for (const cb of list) {
            try {
                cb(arg);
            } catch (e) {
                console.error("error running callback", cb, ":", e);
            }
        }
    }

    window.gradioApp = function () {
        const app = document.querySelector("gradio-app");
        if (!app) return document;
        if (!app.getElementById) app.getElementById = (id) => document.getElementById(id);
        return app.shadowRoot || app;
    };
    window.onUiUpdate = (cb) => callbacks.update.push(cb);
    window.onAfterUiUpdate = (cb) => callbacks.after.push(cb);
    window.onUiLoaded = (cb) => callbacks.loaded.push(cb);
    window.onOptionsChanged = (cb) => callbacks.options.push(cb);
    window.inputAccordionChecked = function (id, checked) {
        (window.facepopTestAccordionStates = window.facepopTestAccordionStates || {})[id] = checked;
    };

    document.addEventListener("DOMContentLoaded", function () {
        new MutationObserver(function (mutations) {
            if (!loaded && gradioApp().querySelector("[id^='script_']")) {
                loaded = true;
                run(callbacks.loaded);
            }
            run(callbacks.update, mutations);
            clearTimeout(afterTimer);
            afterTimer = setTimeout(() => run(callbacks.after), 200);
        }).observe(gradioApp(), {childList: true, subtree: true});
    });
})();
