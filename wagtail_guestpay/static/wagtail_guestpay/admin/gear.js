/* The offer's gear button (wagtail_guestpay.admin.gear.GearPanel).
 *
 * Shows the gear when the payment system chosen in the offer's form supports payment without
 * login, or the price is 0 (a free offer needs no payment system), following the fields without
 * saving, and opens the payment settings in a Wagtail
 * dialog through Wagtail's modal workflow. A Stimulus controller registered on Wagtail's app.
 */
(() => {
  const { Controller } = window.StimulusModule;

  /* HTML set with innerHTML does not run its scripts; the page choosers need theirs. */
  function runScripts(container) {
    container.querySelectorAll('script').forEach((old) => {
      const script = document.createElement('script');
      script.textContent = old.textContent;
      old.replaceWith(script);
    });
  }

  /* A page chooser opened from the dialog is a second (Bootstrap) modal outside it: let focus
   * stay there instead of being pulled back into the dialog. */
  if (window.jQuery) {
    window.jQuery(document).on('show.bs.modal', '.modal', (event) => {
      event.target.setAttribute('data-a11y-dialog-ignore-focus-trap', '');
    });
  }

  class GearController extends Controller {
    static targets = ['available', 'unavailable', 'summary'];

    static values = {
      support: Object,
      accountField: String,
      methodField: String,
      priceField: String,
      methodProvider: String,
      dialogId: String,
      url: String,
    };

    connect() {
      this.update = this.update.bind(this);
      this.fields = [this.accountFieldValue, this.methodFieldValue, this.priceFieldValue]
        .map((id) => id && document.getElementById(id))
        .filter(Boolean);
      this.fields.forEach((field) => field.addEventListener('change', this.update));
      this.fields.forEach((field) => field.addEventListener('input', this.update));
      this.update();
    }

    disconnect() {
      this.fields.forEach((field) => field.removeEventListener('change', this.update));
      this.fields.forEach((field) => field.removeEventListener('input', this.update));
    }

    get isFree() {
      const field = this.priceFieldValue && document.getElementById(this.priceFieldValue);
      return Boolean(field) && field.value.trim() !== '' && Number(field.value) === 0;
    }

    get chosenAccount() {
      const field = document.getElementById(this.accountFieldValue);
      return field ? field.value : '';
    }

    update() {
      const method = document.getElementById(this.methodFieldValue);
      const viaProvider = !method || method.value === this.methodProviderValue;
      const account = this.chosenAccount;
      const supported = this.isFree || (viaProvider && Boolean(this.supportValue[account]));
      this.availableTargets.forEach((el) => { el.hidden = !supported; });
      this.unavailableTargets.forEach((el) => { el.hidden = supported || !account; });
    }

    open(event) {
      event.preventDefault();
      if (!this.hasUrlValue) return;
      const url = new URL(this.urlValue, window.location.href);
      url.searchParams.set('provider_account', this.chosenAccount);
      const controller = this;
      window.ModalWorkflow({
        dialogId: this.dialogIdValue,
        url: url.toString(),
        onload: {
          gear_settings(modal) {
            runScripts(modal.body);
            const form = modal.body.querySelector('form');
            if (form) {
              form.addEventListener('submit', (submitEvent) => {
                submitEvent.preventDefault();
                modal.postForm(form.action, window.jQuery(form).serialize());
              });
            }
          },
          gear_settings_done(modal, data) {
            if (controller.hasSummaryTarget) {
              controller.summaryTarget.innerHTML = data.summary_html;
            }
            document.dispatchEvent(new CustomEvent('w-messages:add', {
              detail: { clear: true, text: data.message, type: 'success' },
            }));
            modal.close();
          },
        },
      });
    }
  }

  window.wagtail.app.register('guestpay-gear', GearController);
})();
