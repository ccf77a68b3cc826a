//! Mail: the weekly report's PDF through SMTP (lettre; STARTTLS or implicit TLS).

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Mails the PDF to a comma-separated recipient list through the SMTP server at `url`.
pub async fn send_pdf(
    url: &str,
    from: &str,
    recipients: &str,
    week: &str,
    pdf: Vec<u8>,
) -> Result<(), String> {
    let from: Mailbox = from.parse().map_err(|e| format!("sender {from:?}: {e}"))?;
    let mut builder = Message::builder()
        .from(from)
        .subject(format!("AMSO weekly moderation report {week}"));
    for r in recipients
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
    {
        builder = builder.to(r
            .parse::<Mailbox>()
            .map_err(|e| format!("recipient {r:?}: {e}"))?);
    }
    let pdf_type = ContentType::parse("application/pdf").map_err(|e| e.to_string())?;
    let message = builder
        .multipart(
            MultiPart::mixed()
                .singlepart(SinglePart::plain(format!(
                    "The AMSO weekly moderation report for {week} is attached (PDF). \
                     The XLSX and CSV are on the Reports page."
                )))
                .singlepart(Attachment::new(format!("amso-weekly-{week}.pdf")).body(pdf, pdf_type)),
        )
        .map_err(|e| e.to_string())?;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .map_err(|e| format!("SMTP settings: {e}"))?
        .timeout(Some(std::time::Duration::from_secs(30)))
        .build();
    transport.send(message).await.map_err(|e| e.to_string())?;
    Ok(())
}
