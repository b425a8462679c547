namespace ConsentHub.Validation;

/// <summary>
/// The built-in words for validation emails and landing pages, used when a context has no template of its own.
/// <c>{brand}</c> stands for the context's display name; renderers substitute it before escaping.
/// </summary>
public static class DefaultTexts
{
    public const string Fallback = "en";

    static readonly Dictionary<string, ValidationTexts> ByLanguage = new(StringComparer.Ordinal)
    {
        ["en"] = new()
        {
            Language = "en",
            Subject = "{brand}: please confirm your choices",
            ReminderSubject = "Reminder from {brand}: please confirm your choices",
            Heading = "Please confirm your choices",
            Intro = "We received a request to change how {brand} may contact you. Please check the choices below: they only take effect once you confirm them.",
            ReminderIntro = "We recently asked you to confirm a change to how {brand} may contact you, and have not heard back yet. Please check the choices below: they only take effect once you confirm them.",
            ConfirmLabel = "Confirm",
            Granted = "Consent given",
            Withdrawn = "Consent withdrawn",
            ConsentsHeading = "Your consent",
            ChannelsHeading = "How we may contact you",
            IgnoreNote = "Did not ask for this, or changed your mind? Then there is nothing to do: unless you confirm, nothing changes.",
            NotificationSubject = "{brand}: your choices have been updated",
            NotificationHeading = "Your choices have been updated",
            NotificationIntro = "This confirms that {brand} has updated how it may contact you, as listed below. There is nothing you need to do.",
            NotificationNote = "Did not make this change? Please contact {brand}, and your choices will be put right.",
            ThanksHeading = "Thank you, your choices are confirmed",
            ThanksBody = "{brand} will respect your choices from now on. You can close this page.",
            NotFoundHeading = "We cannot find this link",
            NotFoundBody = "The link may be incomplete. Please open it again straight from the email, or copy the complete address into your browser.",
            ExpiredHeading = "This link has expired",
            ExpiredBody = "The time to confirm these choices has passed, so nothing has changed. If you still want this change, please make it again where you first made it.",
            UsedHeading = "Your choices are already confirmed",
            UsedBody = "This link has already been used, so there is nothing more to do. You can close this page.",
            RevisitSubject = "{brand}: are your choices still right?",
            RevisitHeading = "Are these still your choices?",
            RevisitIntro = "Some time ago you told {brand} how it may contact you. Please check that this is still what you want: keep your choices with one click, or change them below.",
            RevisitKeepLabel = "Keep my choices",
            RevisitChangeHeading = "Or change them",
            RevisitSaveLabel = "Save my changes",
        },
        ["de"] = new()
        {
            Language = "de",
            Subject = "{brand}: Bitte bestätigen Sie Ihre Auswahl",
            ReminderSubject = "Erinnerung von {brand}: Bitte bestätigen Sie Ihre Auswahl",
            Heading = "Bitte bestätigen Sie Ihre Auswahl",
            Intro = "Wir haben eine Anfrage erhalten, zu ändern, wie {brand} Sie kontaktieren darf. Bitte prüfen Sie die folgende Auswahl: Sie wird erst wirksam, wenn Sie sie bestätigen.",
            ReminderIntro = "Wir haben Sie vor Kurzem gebeten, eine Änderung zu bestätigen, wie {brand} Sie kontaktieren darf, aber noch keine Antwort erhalten. Bitte prüfen Sie die folgende Auswahl: Sie wird erst wirksam, wenn Sie sie bestätigen.",
            ConfirmLabel = "Bestätigen",
            Granted = "Einwilligung erteilt",
            Withdrawn = "Einwilligung widerrufen",
            ConsentsHeading = "Ihre Einwilligungen",
            ChannelsHeading = "Wie wir Sie kontaktieren dürfen",
            IgnoreNote = "Sie haben das nicht veranlasst oder es sich anders überlegt? Dann müssen Sie nichts tun: Ohne Ihre Bestätigung ändert sich nichts.",
            NotificationSubject = "{brand}: Ihre Auswahl wurde aktualisiert",
            NotificationHeading = "Ihre Auswahl wurde aktualisiert",
            NotificationIntro = "Hiermit bestätigen wir, dass {brand} wie unten aufgeführt aktualisiert hat, wie {brand} Sie kontaktieren darf. Sie müssen nichts tun.",
            NotificationNote = "Sie haben diese Änderung nicht veranlasst? Bitte wenden Sie sich an {brand}, damit Ihre Auswahl korrigiert wird.",
            ThanksHeading = "Vielen Dank, Ihre Auswahl ist bestätigt",
            ThanksBody = "{brand} berücksichtigt ab sofort Ihre Auswahl. Sie können diese Seite jetzt schließen.",
            NotFoundHeading = "Wir finden diesen Link nicht",
            NotFoundBody = "Der Link ist möglicherweise unvollständig. Bitte öffnen Sie ihn direkt aus der E-Mail oder kopieren Sie die vollständige Adresse in Ihren Browser.",
            ExpiredHeading = "Dieser Link ist abgelaufen",
            ExpiredBody = "Die Frist für die Bestätigung ist verstrichen, daher hat sich nichts geändert. Wenn Sie die Änderung weiterhin wünschen, nehmen Sie sie bitte dort erneut vor, wo Sie sie ursprünglich vorgenommen haben.",
            UsedHeading = "Ihre Auswahl ist bereits bestätigt",
            UsedBody = "Dieser Link wurde bereits verwendet, Sie müssen nichts weiter tun. Sie können diese Seite jetzt schließen.",
            RevisitSubject = "{brand}: Stimmt Ihre Auswahl noch?",
            RevisitHeading = "Ist das noch Ihre Auswahl?",
            RevisitIntro = "Vor einiger Zeit haben Sie {brand} mitgeteilt, wie wir Sie kontaktieren dürfen. Bitte prüfen Sie, ob das noch Ihrem Wunsch entspricht: Behalten Sie Ihre Auswahl mit einem Klick oder ändern Sie sie unten.",
            RevisitKeepLabel = "Auswahl beibehalten",
            RevisitChangeHeading = "Oder ändern Sie sie",
            RevisitSaveLabel = "Änderungen speichern",
        },
        ["nl"] = new()
        {
            Language = "nl",
            Subject = "{brand}: bevestig uw keuzes",
            ReminderSubject = "Herinnering van {brand}: bevestig uw keuzes",
            Heading = "Bevestig uw keuzes",
            Intro = "We hebben een verzoek ontvangen om te wijzigen hoe {brand} contact met u mag opnemen. Controleer hieronder uw keuzes: ze gaan pas in als u ze bevestigt.",
            ReminderIntro = "We vroegen u onlangs een wijziging te bevestigen in hoe {brand} contact met u mag opnemen, maar hebben nog niets van u gehoord. Controleer hieronder uw keuzes: ze gaan pas in als u ze bevestigt.",
            ConfirmLabel = "Bevestigen",
            Granted = "Toestemming gegeven",
            Withdrawn = "Toestemming ingetrokken",
            ConsentsHeading = "Uw toestemming",
            ChannelsHeading = "Hoe we contact met u mogen opnemen",
            IgnoreNote = "Heeft u dit niet aangevraagd of bent u van gedachten veranderd? Dan hoeft u niets te doen: zonder uw bevestiging verandert er niets.",
            NotificationSubject = "{brand}: uw keuzes zijn bijgewerkt",
            NotificationHeading = "Uw keuzes zijn bijgewerkt",
            NotificationIntro = "Hierbij bevestigen we dat {brand} heeft bijgewerkt hoe {brand} contact met u mag opnemen, zoals hieronder vermeld. U hoeft niets te doen.",
            NotificationNote = "Heeft u deze wijziging niet aangevraagd? Neem dan contact op met {brand}, dan worden uw keuzes rechtgezet.",
            ThanksHeading = "Bedankt, uw keuzes zijn bevestigd",
            ThanksBody = "{brand} houdt vanaf nu rekening met uw keuzes. U kunt deze pagina sluiten.",
            NotFoundHeading = "We kunnen deze link niet vinden",
            NotFoundBody = "De link is mogelijk onvolledig. Open hem opnieuw rechtstreeks vanuit de e-mail, of kopieer het volledige adres naar uw browser.",
            ExpiredHeading = "Deze link is verlopen",
            ExpiredBody = "De termijn om deze keuzes te bevestigen is verstreken, dus er is niets veranderd. Wilt u de wijziging toch? Geef ze dan opnieuw door op de plek waar u ze eerder doorgaf.",
            UsedHeading = "Uw keuzes zijn al bevestigd",
            UsedBody = "Deze link is al gebruikt, u hoeft dus niets meer te doen. U kunt deze pagina sluiten.",
            RevisitSubject = "{brand}: kloppen uw keuzes nog?",
            RevisitHeading = "Zijn dit nog uw keuzes?",
            RevisitIntro = "Enige tijd geleden heeft u {brand} laten weten hoe wij contact met u mogen opnemen. Controleer of dat nog klopt: behoud uw keuzes met één klik, of wijzig ze hieronder.",
            RevisitKeepLabel = "Mijn keuzes behouden",
            RevisitChangeHeading = "Of wijzig ze",
            RevisitSaveLabel = "Wijzigingen opslaan",
        },
        ["fr"] = new()
        {
            Language = "fr",
            Subject = "{brand}\u00a0: merci de confirmer vos choix",
            ReminderSubject = "Rappel de {brand}\u00a0: merci de confirmer vos choix",
            Heading = "Merci de confirmer vos choix",
            Intro = "Nous avons reçu une demande de modification de la manière dont {brand} peut vous contacter. Veuillez vérifier vos choix ci-dessous\u00a0: ils ne prendront effet qu’après votre confirmation.",
            ReminderIntro = "Nous vous avons récemment demandé de confirmer une modification de la manière dont {brand} peut vous contacter, sans réponse de votre part. Veuillez vérifier vos choix ci-dessous\u00a0: ils ne prendront effet qu’après votre confirmation.",
            ConfirmLabel = "Confirmer",
            Granted = "Consentement donné",
            Withdrawn = "Consentement retiré",
            ConsentsHeading = "Vos consentements",
            ChannelsHeading = "Comment nous pouvons vous contacter",
            IgnoreNote = "Vous n’êtes pas à l’origine de cette demande ou vous avez changé d’avis\u00a0? Vous n’avez rien à faire\u00a0: sans votre confirmation, rien ne change.",
            NotificationSubject = "{brand}\u00a0: vos choix ont été mis à jour",
            NotificationHeading = "Vos choix ont été mis à jour",
            NotificationIntro = "Nous vous confirmons que {brand} a mis à jour la manière dont {brand} peut vous contacter, comme indiqué ci-dessous. Vous n’avez rien à faire.",
            NotificationNote = "Vous n’êtes pas à l’origine de cette modification\u00a0? Veuillez contacter {brand} pour que vos choix soient corrigés.",
            ThanksHeading = "Merci, vos choix sont confirmés",
            ThanksBody = "{brand} respectera désormais vos choix. Vous pouvez fermer cette page.",
            NotFoundHeading = "Nous ne trouvons pas ce lien",
            NotFoundBody = "Le lien est peut-être incomplet. Ouvrez-le à nouveau directement depuis l’e-mail, ou copiez l’adresse complète dans votre navigateur.",
            ExpiredHeading = "Ce lien a expiré",
            ExpiredBody = "Le délai pour confirmer ces choix est dépassé, rien n’a donc changé. Si vous souhaitez toujours cette modification, veuillez la refaire là où vous l’aviez faite.",
            UsedHeading = "Vos choix sont déjà confirmés",
            UsedBody = "Ce lien a déjà été utilisé, vous n’avez plus rien à faire. Vous pouvez fermer cette page.",
            RevisitSubject = "{brand} : vos choix sont-ils toujours les bons ?",
            RevisitHeading = "Ces choix sont-ils toujours les vôtres ?",
            RevisitIntro = "Il y a quelque temps, vous avez indiqué à {brand} comment vous contacter. Vérifiez que cela vous convient toujours : gardez vos choix en un clic, ou modifiez-les ci-dessous.",
            RevisitKeepLabel = "Garder mes choix",
            RevisitChangeHeading = "Ou modifiez-les",
            RevisitSaveLabel = "Enregistrer mes modifications",
        },
        ["it"] = new()
        {
            Language = "it",
            Subject = "{brand}: conferma le tue scelte",
            ReminderSubject = "Promemoria da {brand}: conferma le tue scelte",
            Heading = "Conferma le tue scelte",
            Intro = "Abbiamo ricevuto una richiesta di modificare il modo in cui {brand} può contattarti. Controlla le scelte qui sotto: avranno effetto solo dopo la tua conferma.",
            ReminderIntro = "Di recente ti abbiamo chiesto di confermare una modifica al modo in cui {brand} può contattarti, ma non abbiamo ancora ricevuto risposta. Controlla le scelte qui sotto: avranno effetto solo dopo la tua conferma.",
            ConfirmLabel = "Conferma",
            Granted = "Consenso prestato",
            Withdrawn = "Consenso revocato",
            ConsentsHeading = "I tuoi consensi",
            ChannelsHeading = "Come possiamo contattarti",
            IgnoreNote = "Non hai fatto tu questa richiesta o hai cambiato idea? Non devi fare nulla: senza la tua conferma non cambia niente.",
            NotificationSubject = "{brand}: le tue scelte sono state aggiornate",
            NotificationHeading = "Le tue scelte sono state aggiornate",
            NotificationIntro = "Ti confermiamo che {brand} ha aggiornato il modo in cui può contattarti, come indicato qui sotto. Non devi fare nulla.",
            NotificationNote = "Non hai fatto tu questa modifica? Contatta {brand} e le tue scelte verranno corrette.",
            ThanksHeading = "Grazie, le tue scelte sono confermate",
            ThanksBody = "D’ora in poi {brand} rispetterà le tue scelte. Puoi chiudere questa pagina.",
            NotFoundHeading = "Non troviamo questo link",
            NotFoundBody = "Il link potrebbe essere incompleto. Aprilo di nuovo direttamente dall’e-mail, oppure copia l’indirizzo completo nel browser.",
            ExpiredHeading = "Questo link è scaduto",
            ExpiredBody = "Il tempo per confermare queste scelte è scaduto, quindi non è cambiato nulla. Se desideri ancora questa modifica, ripetila dove l’avevi fatta.",
            UsedHeading = "Le tue scelte sono già confermate",
            UsedBody = "Questo link è già stato usato, quindi non devi fare altro. Puoi chiudere questa pagina.",
            RevisitSubject = "{brand}: le tue scelte sono ancora valide?",
            RevisitHeading = "Sono ancora queste le tue scelte?",
            RevisitIntro = "Tempo fa hai indicato a {brand} come può contattarti. Verifica che sia ancora ciò che desideri: conferma le tue scelte con un clic oppure modificale qui sotto.",
            RevisitKeepLabel = "Mantieni le mie scelte",
            RevisitChangeHeading = "Oppure modificale",
            RevisitSaveLabel = "Salva le modifiche",
        },
    };

    // Words the renderers need beyond ValidationTexts: readable channel names and the hint beside the plain link.
    static readonly Dictionary<string, (string CopyLinkHint, Dictionary<string, string> Channels)> Extras = new(StringComparer.Ordinal)
    {
        ["en"] = ("If the button does not work, copy this address into your browser:",
            new() { ["EMAIL"] = "Email", ["SMS"] = "Text message (SMS)", ["PHONE"] = "Phone", ["MAIL"] = "Post" }),
        ["de"] = ("Falls die Schaltfläche nicht funktioniert, kopieren Sie diese Adresse in Ihren Browser:",
            new() { ["EMAIL"] = "E-Mail", ["SMS"] = "SMS", ["PHONE"] = "Telefon", ["MAIL"] = "Post" }),
        ["nl"] = ("Werkt de knop niet? Kopieer dan dit adres naar uw browser:",
            new() { ["EMAIL"] = "E-mail", ["SMS"] = "Sms", ["PHONE"] = "Telefoon", ["MAIL"] = "Post" }),
        ["fr"] = ("Si le bouton ne fonctionne pas, copiez cette adresse dans votre navigateur\u00a0:",
            new() { ["EMAIL"] = "E-mail", ["SMS"] = "SMS", ["PHONE"] = "Téléphone", ["MAIL"] = "Courrier postal" }),
        ["it"] = ("Se il pulsante non funziona, copia questo indirizzo nel browser:",
            new() { ["EMAIL"] = "E-mail", ["SMS"] = "SMS", ["PHONE"] = "Telefono", ["MAIL"] = "Posta" }),
    };

    public static IReadOnlyList<string> Languages { get; } = [.. ByLanguage.Keys];

    /// <summary>The texts for a language tag such as <c>nl-BE</c>, chosen by its primary subtag; English when unknown.</summary>
    public static ValidationTexts For(string? language) => ByLanguage[Resolve(language)];

    /// <summary>A channel code in words (<c>SMS</c> → "Text message (SMS)"); an unknown code is shown as it is.</summary>
    public static string ChannelName(string code, string? language) =>
        Extras[Resolve(language)].Channels.TryGetValue(code.Trim().ToUpperInvariant(), out var name) ? name : code;

    /// <summary>The sentence before the plain landing-page address, for mail readers that do not show the button.</summary>
    public static string CopyLinkHint(string? language) => Extras[Resolve(language)].CopyLinkHint;

    static string Resolve(string? language) => Supported(language) ?? Fallback;

    /// <summary>The language of these texts a tag such as <c>nl-BE</c> names by its primary subtag, or null when none.</summary>
    public static string? Supported(string? language)
    {
        if (string.IsNullOrWhiteSpace(language)) return null;
        var primary = language.Trim().Split('-', '_')[0].ToLowerInvariant();
        return ByLanguage.ContainsKey(primary) ? primary : null;
    }
}
