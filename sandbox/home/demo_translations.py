"""The demo content in French and Ukrainian (``load_demo`` makes the translations with Wagtail's
own localisation, as an editor does with "Translate" in the admin).

Pages are keyed by their slug in the English tree, offers by their slug; a page's ``body`` is a
list of texts replacing, in order, the texts of its English body (paragraphs, headings, button
labels), so its blocks and the offers they sell stay those of the original.
"""

LANGUAGES = ("fr", "uk")

PAGES = {
    "fr": {
        "home": {
            "body": [
                "Cours",
                "<p>Achetez le cours de démonstration sans compte :</p>",
                "Acheter le cours de démonstration",
                "<p>Le cours des membres demande d'abord un compte :</p>",
                "<p>Le guide est gratuit : aucun paiement, juste votre e-mail :</p>",
            ]
        },
        "free-guide-lessons": {
            "title": "Guide gratuit",
            "intro": "Un court guide pour payer d'abord et se connecter ensuite.",
            "lessons": (
                "<h2>Chapitre 1</h2><p>Pourquoi les acheteurs détestent les formulaires "
                "d'inscription.</p>"
            ),
        },
        "free-guide": {
            "title": "Guide gratuit",
            "body": [
                "<p>Gratuit : saisissez votre adresse e-mail, confirmez-la avec le code envoyé, "
                "et le guide est à vous.</p>"
            ],
        },
        "demo-course-lessons": {
            "title": "Cours de démonstration",
            "intro": "Dix courtes leçons pour payer d'abord et se connecter ensuite.",
            "lessons": (
                "<h2>Leçon 1</h2><p>Bienvenue dans le cours !</p>"
                "<h2>Leçon 2</h2><p>L'e-mail d'accès.</p>"
            ),
        },
        "members-course-lessons": {
            "title": "Cours des membres",
            "intro": "Un cours vendu uniquement aux membres inscrits.",
            "lessons": "<p>Contenu réservé aux membres.</p>",
        },
        "thank-you": {
            "title": "Merci",
            "body": [
                "<p>Merci pour votre commande. Le cadre ci-dessus indique où elle en est et ce qui "
                "suit ; si quelque chose n'est pas clair, nos coordonnées sont ci-dessous.</p>"
            ],
        },
        "payment-not-completed": {"title": "Paiement non abouti"},
        "demo-course": {
            "title": "Cours de démonstration",
            "body": [
                (
                    "<p>Payez maintenant, recevez votre compte ensuite : aucun formulaire "
                    "d'inscription avant de payer.</p>"
                )
            ],
        },
        "members-only": {
            "title": "Cours des membres",
            "body": ["<p>Cette offre vous demande de vous inscrire avant de payer.</p>"],
        },
        "demo-course-stripe": {
            "title": "Cours de démonstration (Stripe)",
            "body": ["<p>Le même cours, payé sur la page de paiement de Stripe.</p>"],
        },
        "demo-course-paypal": {
            "title": "Cours de démonstration (PayPal)",
            "body": ["<p>Le même cours, payé sur PayPal.</p>"],
        },
    },
    "uk": {
        "home": {
            "body": [
                "Курси",
                "<p>Купіть демонстраційний курс без облікового запису:</p>",
                "Купити демонстраційний курс",
                "<p>Курс для учасників спершу потребує облікового запису:</p>",
                "<p>Посібник безкоштовний: жодної оплати, лише ваша електронна адреса:</p>",
            ]
        },
        "free-guide-lessons": {
            "title": "Безкоштовний посібник",
            "intro": "Короткий посібник про те, як спершу заплатити, а потім увійти.",
            "lessons": "<h2>Розділ 1</h2><p>Чому покупці не люблять форми реєстрації.</p>",
        },
        "free-guide": {
            "title": "Безкоштовний посібник",
            "body": [
                "<p>Безкоштовно: введіть свою електронну адресу, підтвердьте її надісланим "
                "кодом, і посібник ваш.</p>"
            ],
        },
        "demo-course-lessons": {
            "title": "Демонстраційний курс",
            "intro": "Десять коротких уроків про те, як спершу заплатити, а потім увійти.",
            "lessons": (
                "<h2>Урок 1</h2><p>Ласкаво просимо на курс!</p>"
                "<h2>Урок 2</h2><p>Лист із доступом.</p>"
            ),
        },
        "members-course-lessons": {
            "title": "Курс для учасників",
            "intro": "Курс лише для зареєстрованих учасників.",
            "lessons": "<p>Матеріали лише для учасників.</p>",
        },
        "thank-you": {
            "title": "Дякуємо",
            "body": [
                "<p>Дякуємо за замовлення. Блок вище показує, на якому воно етапі і що буде далі; "
                "якщо щось незрозуміло, наші контакти нижче.</p>"
            ],
        },
        "payment-not-completed": {"title": "Оплату не завершено"},
        "demo-course": {
            "title": "Демонстраційний курс",
            "body": [
                (
                    "<p>Оплатіть зараз, обліковий запис отримаєте потім: жодної форми реєстрації "
                    "перед оплатою.</p>"
                )
            ],
        },
        "members-only": {
            "title": "Курс для учасників",
            "body": ["<p>Ця пропозиція просить зареєструватися перед оплатою.</p>"],
        },
        "demo-course-stripe": {
            "title": "Демонстраційний курс (Stripe)",
            "body": ["<p>Той самий курс, оплачений на сторінці оплати Stripe.</p>"],
        },
        "demo-course-paypal": {
            "title": "Демонстраційний курс (PayPal)",
            "body": ["<p>Той самий курс, оплачений через PayPal.</p>"],
        },
    },
}

OFFERS = {
    "fr": {
        "demo-course": ("Cours de démonstration", "Accès à vie au cours de démonstration."),
        "members-only": ("Cours des membres", "Accès à vie au cours des membres."),
        "free-guide": ("Guide gratuit", "Accès à vie au guide gratuit."),
        "demo-course-stripe": (
            "Cours de démonstration (Stripe)",
            "Accès à vie au cours de démonstration.",
        ),
        "demo-course-paypal": (
            "Cours de démonstration (PayPal)",
            "Accès à vie au cours de démonstration.",
        ),
    },
    "uk": {
        "demo-course": ("Демонстраційний курс", "Довічний доступ до демонстраційного курсу."),
        "members-only": ("Курс для учасників", "Довічний доступ до курсу для учасників."),
        "free-guide": ("Безкоштовний посібник", "Довічний доступ до безкоштовного посібника."),
        "demo-course-stripe": (
            "Демонстраційний курс (Stripe)",
            "Довічний доступ до демонстраційного курсу.",
        ),
        "demo-course-paypal": (
            "Демонстраційний курс (PayPal)",
            "Довічний доступ до демонстраційного курсу.",
        ),
    },
}

MERCHANT = {
    "fr": {"name": "Académie Guestpay Sandbox", "hours": "Du lundi au vendredi, 9 h - 18 h (CET)"},
    "uk": {"name": "Академія Guestpay Sandbox", "hours": "Пн-Пт, 9:00-18:00 (CET)"},
}

# field name ("" for the introduction) -> text
REGISTRATION = {
    "fr": {"": "Parlez-nous un peu de vous.", "full_name": "Nom complet", "phone": "Téléphone"},
    "uk": {"": "Розкажіть трохи про себе.", "full_name": "Повне ім'я", "phone": "Телефон"},
}
